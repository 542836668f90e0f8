//go:build unix

package sshdtest

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Trickle starts a TCP proxy on 127.0.0.1 that forwards to addr at
// perSecond bytes a second each way, one byte at a time: a server that
// always answers, never in time. It returns the proxy's address; it stops
// at the end of the test.
func Trickle(t testing.TB, addr string, perSecond int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	gap := time.Second / time.Duration(perSecond)
	pipe := func(dst, src net.Conn) {
		defer dst.Close()
		defer src.Close()
		b := make([]byte, 1)
		for {
			if _, err := io.ReadFull(src, b); err != nil {
				return
			}
			time.Sleep(gap)
			if _, err := dst.Write(b); err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			track(c)
			track(s)
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	return l.Addr().String()
}
