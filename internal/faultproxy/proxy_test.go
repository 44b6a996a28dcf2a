package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// echoServer answers every connection by echoing what it reads, until the client half-closes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

func start(t *testing.T, cfg Config) *Proxy {
	t.Helper()
	p, err := Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTrip sends msg through a new connection to addr, half-closes, and reads the answer.
func roundTrip(addr string, msg []byte) ([]byte, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	c.(*net.TCPConn).CloseWrite()
	return io.ReadAll(c)
}

func TestForwardsBytesUnchanged(t *testing.T) {
	p := start(t, Config{Target: echoServer(t), Seed: 1})
	msg := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{7}).Read(msg)
	got, err := roundTrip(p.Addr(), msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo through the proxy: %d bytes back, differing from the %d sent", len(got), len(msg))
	}
	if s := p.Stats(); s != (Stats{Forwarded: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestResetSendsRST(t *testing.T) {
	p := start(t, Config{Target: echoServer(t), ResetRate: 1, Seed: 1})
	_, err := roundTrip(p.Addr(), []byte("GET / HTTP/1.1\r\n\r\n"))
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("want connection reset by peer, got %v", err)
	}
	if s := p.Stats(); s != (Stats{Reset: 1}) {
		t.Errorf("stats %+v", s)
	}
}

func TestStallAnswersNothingUntilClosed(t *testing.T) {
	p := start(t, Config{Target: echoServer(t), StallRate: 1, Seed: 1})
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	// A stalled connection answers nothing: a read gives up at its (short) deadline.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read %d bytes, err %v; want nothing until the deadline", n, err)
	}
	// Closing the proxy ends the stalled connection.
	c.SetReadDeadline(time.Time{})
	p.Close()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the stalled connection outlived the proxy")
	}
	if s := p.Stats(); s != (Stats{Stalled: 1}) {
		t.Errorf("stats %+v", s)
	}
}

// The fates are drawn from the seed alone: two proxies with the same seed give the same
// sequence; the shares over many draws are the configured rates.
func TestFatesAreSeeded(t *testing.T) {
	draw := func(seed uint64, n int) []Fate {
		r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		out := make([]Fate, n)
		for i := range out {
			out[i] = drawFate(r, 0.05, 0.01)
		}
		return out
	}
	a, b := draw(42, 100000), draw(42, 100000)
	count := map[Fate]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d: %v then %v with the same seed", i, a[i], b[i])
		}
		count[a[i]]++
	}
	if r := float64(count[Reset]) / 1e5; r < 0.048 || r > 0.052 {
		t.Errorf("reset share %.4f, want ≈0.05", r)
	}
	if s := float64(count[Stall]) / 1e5; s < 0.009 || s > 0.011 {
		t.Errorf("stall share %.4f, want ≈0.01", s)
	}

	// Real connections follow the same sequence, in accept order.
	target := echoServer(t)
	for _, seed := range []uint64{42, 42} {
		p := start(t, Config{Target: target, ResetRate: 0.05, StallRate: 0.01, Seed: seed})
		want := draw(seed, 200)
		for i, fate := range want {
			if fate == Stall {
				c, err := net.Dial("tcp", p.Addr()) // accepted, never answered: leave it for Close
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.Write([]byte("x"))
				continue
			}
			got, err := roundTrip(p.Addr(), []byte("ping"))
			switch {
			case fate == Reset && !errors.Is(err, syscall.ECONNRESET):
				t.Fatalf("connection %d: want a reset, got %q, %v", i, got, err)
			case fate == Forward && (err != nil || string(got) != "ping"):
				t.Fatalf("connection %d: want the echo, got %q, %v", i, got, err)
			}
		}
		p.Close()
		s := p.Stats()
		var wantStats Stats
		for _, f := range want {
			switch f {
			case Reset:
				wantStats.Reset++
			case Stall:
				wantStats.Stalled++
			default:
				wantStats.Forwarded++
			}
		}
		if s != wantStats {
			t.Errorf("seed %d: stats %+v, want %+v", seed, s, wantStats)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		addr string
		cfg  Config
		want string
	}{
		{"127.0.0.1:0", Config{}, "Target is empty"},
		{"127.0.0.1:0", Config{Target: "x:1", ResetRate: -0.1}, "ResetRate -0.1"},
		{"127.0.0.1:0", Config{Target: "x:1", StallRate: 2}, "StallRate 2"},
		{"127.0.0.1:0", Config{Target: "x:1", ResetRate: 0.6, StallRate: 0.6}, "more than 1"},
		{"0.0.0.0:0", Config{Target: "x:1"}, "not a loopback address"},
		{"nonsense", Config{Target: "x:1"}, "listen address"},
	} {
		_, err := Start(tc.addr, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "faultproxy: ") {
			t.Errorf("Start(%q, %+v): %v, want an error containing %q", tc.addr, tc.cfg, err, tc.want)
		}
	}
}
