# Python's smtplib as a client for the client benchmark: sends N copies of a message file over C
# connections (one thread each, N split between them) and prints one JSON line of figures in the
# shape bench/client.ts reads. Run with Debian's /usr/bin/python3 (smtplib is in its stdlib).
#
#   /usr/bin/python3 bench/peers/smtplib-client.py HOST PORT N C MESSAGE_FILE
import json
import resource
import smtplib
import sys
import threading
import time

host, port, n, connections, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with open(path, 'rb') as f:
    message = f.read()


def send(count):
    client = smtplib.SMTP(host, port, local_hostname='bench.example.test')
    for _ in range(count):
        client.sendmail('bench@example.test', ['sink@example.test'], message)
    client.quit()


started, cpu = time.perf_counter(), time.process_time()
threads = [threading.Thread(target=send, args=(n // connections + (1 if i < n % connections else 0),)) for i in range(connections)]
for t in threads:
    t.start()
for t in threads:
    t.join()
seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
# ru_maxrss is in kilobytes on Linux (getrusage(2)).
print(json.dumps({'messages': n, 'bytes': 0, 'seconds': seconds, 'cpuSeconds': cpu_seconds,
                  'maxRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
