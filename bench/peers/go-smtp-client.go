// go-smtp's client for the client benchmark: sends N copies of a message file over C
// connections (one goroutine each, N split between them) and prints one JSON line of figures in
// the shape bench/client.ts reads.
//
// Built offline from Debian's packages (bench/setup-peers.sh installs them):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o <dir>/go-smtp-client bench/peers/go-smtp-client.go
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

func send(addr string, count int, message []byte) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	if err := c.Hello("bench.example.test"); err != nil {
		return err
	}
	for i := 0; i < count; i++ {
		if err := c.Mail("bench@example.test", nil); err != nil {
			return err
		}
		if err := c.Rcpt("sink@example.test"); err != nil {
			return err
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(message); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return c.Quit()
}

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: go-smtp-client HOST PORT N C MESSAGE_FILE")
		os.Exit(2)
	}
	addr := os.Args[1] + ":" + os.Args[2]
	n, _ := strconv.Atoi(os.Args[3])
	connections, _ := strconv.Atoi(os.Args[4])
	message, err := os.ReadFile(os.Args[5])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	started := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, connections)
	for i := 0; i < connections; i++ {
		count := n / connections
		if i < n%connections {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := send(addr, count, message); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	seconds := time.Since(started).Seconds()
	close(errs)
	for err := range errs {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var usage syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	cpu := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
	// Maxrss is in kilobytes on Linux (getrusage(2)).
	json.NewEncoder(os.Stdout).Encode(map[string]any{"messages": n, "bytes": 0, "seconds": seconds, "cpuSeconds": cpu.Seconds(), "maxRssBytes": usage.Maxrss * 1024})
}
