// go-smtp's server for the server benchmark: every message is read and discarded. Prints
// {"port":N} once listening on 127.0.0.1; exits on SIGTERM.
//
// Built offline from Debian's packages (bench/setup-peers.sh installs them):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o <dir>/go-smtp-server bench/peers/go-smtp-server.go
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
)

type backend struct{}

func (backend) Login(_ *smtp.ConnectionState, _, _ string) (smtp.Session, error) {
	return nil, smtp.ErrAuthUnsupported
}

func (backend) AnonymousLogin(_ *smtp.ConnectionState) (smtp.Session, error) {
	return session{}, nil
}

type session struct{}

func (session) Reset()                                  {}
func (session) Logout() error                           { return nil }
func (session) Mail(_ string, _ smtp.MailOptions) error { return nil }
func (session) Rcpt(_ string) error                     { return nil }
func (session) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

func main() {
	server := smtp.NewServer(backend{})
	server.Domain = "bench.example.test"
	server.MaxMessageBytes = 64 << 20
	server.MaxRecipients = 100
	server.ReadTimeout = 5 * time.Minute
	server.WriteTimeout = 5 * time.Minute
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("{\"port\":%d}\n", listener.Addr().(*net.TCPAddr).Port)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		listener.Close()
		os.Exit(0)
	}()
	server.Serve(listener)
}
