// Package faultproxy is a TCP proxy for tests that breaks a seeded share of the connections it
// forwards, the way networks break them: it resets some (a TCP RST once the client has sent its
// first bytes, before any answer) and stalls others (it reads what the client sends and answers
// nothing, until the client or the proxy closes the connection). Every other connection is
// forwarded byte for byte to the target.
//
// Which connections fail is drawn from a PCG source seeded with Config.Seed, one draw per
// accepted connection in the order they are accepted: the sequence of fates, and so the count of
// each fate over N connections, is the same on every run with the same seed. (Which request
// lands on the Nth connection depends on the clients' scheduling.)
//
// The proxy only listens on loopback addresses: it is a test fixture, not a network tool.
package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
)

// Config says where to forward and how often to fail.
type Config struct {
	Target    string  // host:port every connection is forwarded to
	ResetRate float64 // share of connections reset, in [0, 1]
	StallRate float64 // share of connections stalled, in [0, 1]; ResetRate + StallRate ≤ 1
	Seed      uint64  // seeds the draw of each connection's fate
}

// Fate is what the proxy does with one connection.
type Fate uint8

const (
	// Forward copies bytes both ways between the client and the target.
	Forward Fate = iota
	// Reset waits for the client's first bytes, then closes the connection with a TCP RST.
	Reset
	// Stall reads and discards what the client sends and never answers.
	Stall
)

func (f Fate) String() string {
	switch f {
	case Forward:
		return "forward"
	case Reset:
		return "reset"
	case Stall:
		return "stall"
	}
	return fmt.Sprintf("Fate(%d)", uint8(f))
}

// Stats counts the connections the proxy accepted, by fate.
type Stats struct {
	Forwarded, Reset, Stalled int
}

// Total is the number of connections accepted.
func (s Stats) Total() int { return s.Forwarded + s.Reset + s.Stalled }

// Proxy is a running fault-injecting proxy. Its methods are safe for concurrent use.
type Proxy struct {
	cfg Config
	ln  net.Listener

	mu     sync.Mutex
	rng    *rand.Rand
	stats  Stats
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start validates cfg, listens on addr (a loopback address; port 0 picks a free one) and serves
// until Close.
func Start(addr string, cfg Config) (*Proxy, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("faultproxy: listen address %q is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		cfg:   cfg,
		ln:    ln,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		conns: map[net.Conn]struct{}{},
	}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

func (c Config) validate() error {
	switch {
	case c.Target == "":
		return errors.New("faultproxy: Target is empty")
	case !(c.ResetRate >= 0 && c.ResetRate <= 1):
		return fmt.Errorf("faultproxy: ResetRate %v is not in [0, 1]", c.ResetRate)
	case !(c.StallRate >= 0 && c.StallRate <= 1):
		return fmt.Errorf("faultproxy: StallRate %v is not in [0, 1]", c.StallRate)
	case c.ResetRate+c.StallRate > 1:
		return fmt.Errorf("faultproxy: ResetRate %v + StallRate %v is more than 1", c.ResetRate, c.StallRate)
	}
	return nil
}

// Addr is the proxy's listening address (host:port).
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Stats returns the connections accepted so far, by fate.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops accepting, closes every open connection (ending the stalled ones) and waits for
// the proxy's goroutines to return.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		fate, ok := p.admit(c)
		if !ok {
			c.Close()
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer p.forget(c)
			switch fate {
			case Reset:
				reset(c)
			case Stall:
				io.Copy(io.Discard, c)
			default:
				p.forward(c)
			}
		}()
	}
}

// admit draws c's fate and tracks c until it is done; false when the proxy is closing.
func (p *Proxy) admit(c net.Conn) (Fate, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, false
	}
	p.conns[c] = struct{}{}
	fate := drawFate(p.rng, p.cfg.ResetRate, p.cfg.StallRate)
	switch fate {
	case Reset:
		p.stats.Reset++
	case Stall:
		p.stats.Stalled++
	default:
		p.stats.Forwarded++
	}
	return fate, true
}

// drawFate draws one connection's fate: Reset with probability reset, Stall with probability
// stall, Forward otherwise.
func drawFate(r *rand.Rand, reset, stall float64) Fate {
	u := r.Float64()
	switch {
	case u < reset:
		return Reset
	case u < reset+stall:
		return Stall
	}
	return Forward
}

func (p *Proxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// track registers a connection the proxy opened, so Close ends it too; false when closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// reset waits for the client's first bytes, then closes c with a TCP RST (SO_LINGER 0).
func reset(c net.Conn) {
	var b [1]byte
	c.Read(b[:])
	if tcp, ok := c.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	c.Close()
}

// forward copies bytes both ways between client and the target until either side closes.
func (p *Proxy) forward(client net.Conn) {
	upstream, err := net.Dial("tcp", p.cfg.Target)
	if err != nil {
		return // the client sees its connection closed, as if the target had refused it
	}
	if !p.track(upstream) {
		upstream.Close()
		return
	}
	defer p.forget(upstream)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		// Pass the end of one direction on as a half-close, so a request or response that
		// ends with the sender's FIN still arrives whole.
		if tcp, ok := dst.(*net.TCPConn); ok {
			tcp.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(upstream, client)
	go pipe(client, upstream)
	<-done
	<-done
}
