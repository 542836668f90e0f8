// Package dnstest serves test zones from a real DNS server
// (github.com/miekg/dns) on loopback UDP, for the tests of domains --check.
package dnstest

import (
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// Serve answers from records (zone-file lines) and returns the server's
// HOST:PORT. A name with no record is NXDOMAIN; a CNAME answers every
// query for its name.
func Serve(t testing.TB, records ...string) string {
	t.Helper()
	var rrs []dns.RR
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("zone line %q: %v", s, err)
		}
		rrs = append(rrs, rr)
	}
	pc := ListenUDP(t)
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		m.Rcode = dns.RcodeNameError
		for _, rr := range rrs {
			if !strings.EqualFold(rr.Header().Name, q.Name) {
				continue
			}
			m.Rcode = dns.RcodeSuccess
			if rr.Header().Rrtype == q.Qtype || rr.Header().Rrtype == dns.TypeCNAME {
				m.Answer = append(m.Answer, rr)
			}
		}
		w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// Silent reads queries and never answers, and returns its HOST:PORT.
func Silent(t testing.TB) string {
	t.Helper()
	pc := ListenUDP(t)
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().String()
}

// ListenUDP opens a UDP socket on loopback. Wine 10 cannot give Go's net
// package one (its WSAIoctl lacks SIO_UDP_CONNRESET, WSAEOPNOTSUPP); real
// Windows can, so there the test skips with that reason rather than fail.
func ListenUDP(t testing.TB) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil && runtime.GOOS == "windows" {
		t.Skipf("no UDP socket under Wine 10 (WSAIoctl SIO_UDP_CONNRESET unsupported): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pc
}
