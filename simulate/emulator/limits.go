package emulator

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Default limits (Options): what a real server bounds, sized for an emulator that keeps its
// state in the memory of the process that runs it.
const (
	// DefaultMaxObjectSize is the largest object one PutObject stores. S3's own limit for a
	// single PUT is 5 GiB (https://docs.aws.amazon.com/AmazonS3/latest/userguide/upload-objects.html).
	DefaultMaxObjectSize = 64 << 20
	// DefaultMaxStoreSize bounds the bytes of every S3 object held, uploads in progress
	// included.
	DefaultMaxStoreSize = 256 << 20
	// DefaultMaxRequestMemory bounds the bytes of request bodies (other than S3 uploads, which
	// count against the store) held by the requests being served at once.
	DefaultMaxRequestMemory = 256 << 20
	// DefaultMaxConnections bounds the connections served at once.
	DefaultMaxConnections = 4096
	// DefaultReadHeaderTimeout bounds the time a client takes to send a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultBodyIdleTimeout bounds a pause in the middle of a request body. S3 answers such a
	// pause with RequestTimeout ("Your socket connection to the server was not read from or
	// written to within the timeout period") after about 20 s.
	DefaultBodyIdleTimeout = 20 * time.Second
	// DefaultReadTimeout bounds the time to read a whole request, body included.
	DefaultReadTimeout = 2 * time.Minute
	// DefaultWriteTimeout bounds the time to serve a request and write its response.
	DefaultWriteTimeout = 2 * time.Minute
	// DefaultIdleTimeout closes a keep-alive connection that sends no new request for this long.
	DefaultIdleTimeout = 30 * time.Second
)

// limits are the Options limits with the defaults filled in.
type limits struct {
	maxObject, maxStore, maxRequestMemory int64
	maxConns                              int
	readHeader, bodyIdle, read, write     time.Duration
	idle                                  time.Duration
}

func (o *Options) limits() (limits, error) {
	pick := func(v, def int64) int64 {
		if v == 0 {
			return def
		}
		return v
	}
	pickD := func(v, def time.Duration) time.Duration {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0 // none
		}
		return v
	}
	l := limits{
		maxObject:        pick(o.MaxObjectSize, DefaultMaxObjectSize),
		maxStore:         pick(o.MaxStoreSize, DefaultMaxStoreSize),
		maxRequestMemory: pick(o.MaxRequestMemory, DefaultMaxRequestMemory),
		maxConns:         int(pick(int64(o.MaxConnections), DefaultMaxConnections)),
		readHeader:       pickD(o.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		bodyIdle:         pickD(o.BodyIdleTimeout, DefaultBodyIdleTimeout),
		read:             pickD(o.ReadTimeout, DefaultReadTimeout),
		write:            pickD(o.WriteTimeout, DefaultWriteTimeout),
		idle:             pickD(o.IdleTimeout, DefaultIdleTimeout),
	}
	switch {
	case l.maxObject < 0 || l.maxStore < 0 || l.maxRequestMemory < 0 || l.maxConns < 0:
		return l, errors.New("emulator: MaxObjectSize, MaxStoreSize, MaxRequestMemory and MaxConnections must be >= 0")
	case l.maxObject > l.maxStore:
		return l, fmt.Errorf("emulator: MaxObjectSize (%d) must not exceed MaxStoreSize (%d)", l.maxObject, l.maxStore)
	}
	return l, nil
}

// budget counts bytes against a limit, from several goroutines.
type budget struct {
	used  atomic.Int64
	limit int64
}

// reserve takes n bytes, or reports false (taking nothing) if that would pass the limit.
func (b *budget) reserve(n int64) bool {
	for {
		used := b.used.Load()
		if used+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// release gives back n bytes.
func (b *budget) release(n int64) { b.used.Add(-n) }

// errRequestMemory reports a request body that does not fit in what the emulator keeps for
// the bodies of the requests it is serving (Options.MaxRequestMemory).
var errRequestMemory = errors.New("emulator: request bodies in memory exceed MaxRequestMemory")

// body wraps a request's body: every Read first extends the connection's read deadline by the
// body idle timeout (never past the request's read deadline), so that a client that stops
// sending is cut off while one that keeps sending is not; and the bytes read count against the
// request memory budget until the request is done (release).
type body struct {
	rc       io.ReadCloser
	ctl      *http.ResponseController
	idle     time.Duration
	deadline time.Time // the request's read deadline
	mem      *budget
	held     int64
	counted  bool // count bytes against mem (not for S3 uploads: the store counts them)
}

func (b *body) Read(p []byte) (int, error) {
	if b.ctl != nil && b.idle > 0 {
		d := time.Now().Add(b.idle)
		if !b.deadline.IsZero() && d.After(b.deadline) {
			d = b.deadline
		}
		b.ctl.SetReadDeadline(d) // ErrNotSupported when served without a connection: no deadline
	}
	n, err := b.rc.Read(p)
	if n > 0 && b.counted {
		if !b.mem.reserve(int64(n)) {
			return 0, errRequestMemory
		}
		b.held += int64(n)
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// release gives back what the body's bytes held of the request memory budget.
func (b *body) release() {
	b.mem.release(b.held)
	b.held = 0
}

// isTimeout reports whether err is a read that hit its deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isTooLarge reports whether err is http.MaxBytesReader's refusal.
func isTooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// limitListener accepts at most max connections at once; a connection beyond that is closed
// as soon as it is accepted (its client sees the connection reset, which SDKs retry).
type limitListener struct {
	net.Listener
	slots    chan struct{}
	rejected atomic.Int64
}

func newLimitListener(ln net.Listener, max int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, max)}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitConn{Conn: c, slots: l.slots}, nil
		default:
			l.rejected.Add(1)
			c.Close()
		}
	}
}

// limitConn gives its slot back when closed.
type limitConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}
