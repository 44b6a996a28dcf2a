package emulator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
)

// DefaultAccount is the AWS account ID the emulator answers for when Options.Account is empty.
const DefaultAccount = "123456789012"

// DefaultRegion is the Region assumed for requests without a SigV4 credential scope.
const DefaultRegion = "us-east-1"

// maxHeaderBytes bounds a request's headers (S3 allows 8 KB of headers besides metadata;
// this leaves room for SigV4 and SDK headers).
const maxHeaderBytes = 64 << 10

// Options configure an Emulator. The zero value is a loopback-only emulator with AWS's default
// quotas, no added latency, no faults, seed 0 and the wall clock.
type Options struct {
	// Rules are the throttling rules: nil means limiter.DefaultRules() (AWS's published quotas).
	// To override some of them, merge a rules file over the defaults with server.MergeRules
	// (LoadRules does both).
	Rules limiter.Rules

	// Latency is added to every response; LatencyJitter adds a uniformly random extra in
	// [0, LatencyJitter) drawn from the seeded source.
	Latency, LatencyJitter time.Duration

	// Faults are windows in which an API throttles everything or answers HTTP 500. Their offsets
	// are measured from the moment the emulator starts serving (Start or Handler), or from the
	// instant given to SetOrigin.
	Faults *server.FaultSchedule

	// Capacity, if not nil, gives the APIs it covers a capacity that changes with time (token
	// buckets per step, outage windows that answer HTTP 500), in place of their rules, as the
	// simulator's server.capacity does. Its offsets count like the fault windows'.
	Capacity *server.CapacitySchedule

	// Hints are the retry hints throttling errors carry (Retry-After, x-amz-retry-after); nil
	// means server.DefaultHints() (Lambda's Retry-After: 1, as AWS sends it); an empty Hints
	// sends none.
	Hints *server.Hints

	// Seed seeds every random choice: latency jitter, request IDs, KMS nonces and data keys.
	Seed uint64

	// Clock returns the current time for throttling decisions, fault windows and timestamps in
	// responses; nil means time.Now. Tests pass a manual clock to drive the token buckets.
	Clock func() time.Time

	// PartitionSplitAfter is how long an S3 partition must stay overloaded (refusing requests)
	// before S3 schedules a split; 0 means server.DefaultSplitAfter.
	PartitionSplitAfter time.Duration
	// PartitionSplitDelay is how long a scheduled S3 partition split takes to happen; SlowDown
	// continues meanwhile. 0 means server.DefaultSplitDelay.
	PartitionSplitDelay time.Duration
	// PartitionedPrefixes are S3 "bucket/prefix/" entries that have their own partition from the
	// start, as in a bucket S3 has already scaled for; other prefixes start in their bucket's
	// shared partition.
	PartitionedPrefixes []string

	// AllowRemote permits listening on a non-loopback address. The emulator verifies no
	// signatures, so anyone who can reach it can use it.
	AllowRemote bool

	// Account is the 12-digit account ID in ARNs and GetCallerIdentity; empty means DefaultAccount.
	Account string

	// Tables declares DynamoDB key schemas by table name. A table not listed here uses
	// DefaultTableSchema (partition key "pk", sort key "sk").
	Tables map[string]TableSchema

	// Limits, like a real server's, so that no client — careless, slow or hostile — makes the
	// emulator hold unbounded memory, connections or goroutines (see "Limits" in the package
	// documentation). 0 means the default; sizes must not be negative, and a negative timeout
	// means none.
	//
	// MaxObjectSize is the largest object a PutObject stores (DefaultMaxObjectSize; S3's own
	// limit is 5 GiB); MaxStoreSize the bytes of all S3 objects held, uploads in progress
	// included (DefaultMaxStoreSize); MaxRequestMemory the bytes of the other request bodies
	// held by the requests being served (DefaultMaxRequestMemory).
	MaxObjectSize, MaxStoreSize, MaxRequestMemory int64
	// MaxConnections bounds the connections served at once (DefaultMaxConnections); more are
	// closed as soon as they are accepted.
	MaxConnections int
	// ReadHeaderTimeout bounds the time to send a request's headers; BodyIdleTimeout a pause in
	// a body; ReadTimeout the whole request; WriteTimeout serving it and writing the response;
	// IdleTimeout a keep-alive connection without a new request. Only Start applies them (a
	// mounted handler is served by its caller's server), except BodyIdleTimeout, which needs
	// only a server that supports http.ResponseController.
	ReadHeaderTimeout, BodyIdleTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

// Emulator serves AWS-compatible responses for a subset of EC2, S3, DynamoDB, KMS, Lambda and STS
// on one listener and throttles them like AWS. It is an http.Handler; Start serves it on a
// loopback listener. All methods are safe for concurrent use.
type Emulator struct {
	opts    Options
	clock   func() time.Time
	account string
	metrics *metrics
	tables  map[string]TableSchema
	created time.Time // when New ran: the creation time of KMS keys and Lambda functions

	// mu serialises throttling decisions and the random source, so the model sees
	// non-decreasing times and draws happen in a deterministic order for a given request order.
	mu      sync.Mutex
	model   *server.Model
	decider server.Decider // model, or a CapacityModel over it
	rng     *rand.Rand
	origin  sync.Once
	hints   *server.Hints

	ec2 *ec2Store
	s3  *objectStore
	ddb *tableStore
	kms *keyStore

	limits    limits
	reqMemory budget         // request bodies held (MaxRequestMemory)
	conns     *limitListener // the listener Start serves, counting rejected connections

	lifecycle sync.Mutex
	ln        net.Listener
	srv       *http.Server
	done      chan struct{}
	serveErr  error
}

// New returns an emulator configured by opts. It does not listen yet: call Listen and Start, or
// mount it (it is an http.Handler).
func New(opts Options) (*Emulator, error) {
	if opts.Latency < 0 || opts.LatencyJitter < 0 {
		return nil, errors.New("emulator: Latency and LatencyJitter must be >= 0")
	}
	if opts.PartitionSplitAfter < 0 || opts.PartitionSplitDelay < 0 {
		return nil, errors.New("emulator: PartitionSplitAfter and PartitionSplitDelay must be >= 0")
	}
	if err := opts.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	account := opts.Account
	if account == "" {
		account = DefaultAccount
	}
	if !isAccountID(account) {
		return nil, fmt.Errorf("emulator: Account must be 12 digits, got %q", account)
	}
	for name, ts := range opts.Tables {
		if err := ts.validate(name); err != nil {
			return nil, err
		}
	}
	lim, err := opts.limits()
	if err != nil {
		return nil, err
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	model, err := server.NewModel(server.Config{
		Rules: opts.Rules, Faults: opts.Faults,
		SplitAfter: opts.PartitionSplitAfter, SplitDelay: opts.PartitionSplitDelay,
	})
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	var decider server.Decider = model
	if opts.Capacity != nil {
		cm, err := server.NewCapacityModel(model, opts.Capacity)
		if err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
		decider = cm
	}
	hints := opts.Hints
	if hints == nil {
		hints = server.DefaultHints()
	}
	for _, bp := range opts.PartitionedPrefixes {
		bucket, prefix, ok := strings.Cut(bp, "/")
		if !ok || bucket == "" || prefix == "" || server.PrefixOf(prefix) != prefix {
			return nil, fmt.Errorf("emulator: partitioned prefix %q: want bucket/prefix/ (the prefix ends with '/')", bp)
		}
		model.Partitions().Presplit(bucket, prefix)
	}
	e := &Emulator{
		opts:    opts,
		clock:   clock,
		account: account,
		metrics: newMetrics(),
		tables:  maps.Clone(opts.Tables),
		model:   model,
		decider: decider,
		hints:   hints,
		rng:     rand.New(rand.NewChaCha8(seedBytes(opts.Seed))),
		created: clock(),
		ec2:     newEC2Store(),
		s3:      newObjectStore(lim.maxStore),
		ddb:     newTableStore(),
		kms:     newKeyStore(),
		limits:  lim,
	}
	e.reqMemory.limit = lim.maxRequestMemory
	return e, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(seed >> (8 * i))
	}
	copy(b[8:], "tollgate-emulator-seed-v1")
	return b
}

// Listen binds the emulator to addr ("127.0.0.1:0" picks a free port). It refuses a
// non-loopback address unless Options.AllowRemote is set. Call Start to serve.
func (e *Emulator) Listen(addr string) error {
	if err := CheckListenAddr(addr, e.opts.AllowRemote); err != nil {
		return err
	}
	e.lifecycle.Lock()
	defer e.lifecycle.Unlock()
	if e.ln != nil {
		return errors.New("emulator: already listening on " + e.ln.Addr().String())
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	e.ln = ln
	return nil
}

// LoadRules reads a rules file (the limiter's format, limiter.LoadRules) and merges it over
// limiter.DefaultRules() with server.MergeRules, ready for Options.Rules.
func LoadRules(path string) (limiter.Rules, error) {
	rs, err := limiter.LoadRules(path)
	if err != nil {
		return nil, err
	}
	return server.MergeRules(limiter.DefaultRules(), rs), nil
}

// CheckListenAddr reports an error unless addr's host is a loopback IP address or "localhost",
// or allowRemote is set. An empty host (":8080", all interfaces) is not loopback.
func CheckListenAddr(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("emulator: listen address %q: %v", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("emulator: refusing to listen on non-loopback address %q: the emulator "+
		"verifies no signatures, so anyone who can reach it can use it (set AllowRemote / --allow-remote to override)", addr)
}

// Start serves the emulator in the background until ctx is cancelled or Close is called. If
// Listen was not called, it listens on 127.0.0.1 on a free port.
func (e *Emulator) Start(ctx context.Context) error {
	e.lifecycle.Lock()
	defer e.lifecycle.Unlock()
	if e.srv != nil {
		return errors.New("emulator: already started")
	}
	if e.ln == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("emulator: listen: %w", err)
		}
		e.ln = ln
	}
	e.startClock()
	e.srv = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: e.limits.readHeader,
		ReadTimeout:       e.limits.read,
		WriteTimeout:      e.limits.write,
		IdleTimeout:       e.limits.idle,
		MaxHeaderBytes:    maxHeaderBytes,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	e.conns = newLimitListener(e.ln, e.limits.maxConns)
	e.done = make(chan struct{})
	srv, ln, done := e.srv, net.Listener(e.conns), e.done
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		e.lifecycle.Lock()
		e.serveErr = err
		e.lifecycle.Unlock()
		close(done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			e.Close()
		case <-done:
		}
	}()
	return nil
}

// URL returns the endpoint to give the SDK clients as BaseEndpoint, e.g. "http://127.0.0.1:4566".
// It is empty before Listen or Start.
func (e *Emulator) URL() string {
	e.lifecycle.Lock()
	defer e.lifecycle.Unlock()
	if e.ln == nil {
		return ""
	}
	return "http://" + e.ln.Addr().String()
}

// Close stops serving, closes the listener and open connections, and waits for the server to
// finish. It returns the error serving stopped with, if any. Closing twice is harmless.
func (e *Emulator) Close() error {
	e.lifecycle.Lock()
	srv, ln, done := e.srv, e.ln, e.done
	e.lifecycle.Unlock()
	switch {
	case srv != nil:
		srv.Close()
		<-done
	case ln != nil:
		ln.Close()
	}
	e.lifecycle.Lock()
	defer e.lifecycle.Unlock()
	return e.serveErr
}

// startClock fixes the origin of the fault windows and capacity steps to the emulator's clock
// the first time it serves, unless SetOrigin has.
func (e *Emulator) startClock() {
	e.origin.Do(func() {
		e.mu.Lock()
		e.setOrigin(e.clock())
		e.mu.Unlock()
	})
}

// SetOrigin sets the instant the fault windows' and capacity steps' offsets count from, in
// place of the moment the emulator starts serving: a load that prepares its data first starts
// its schedule with its workload.
func (e *Emulator) SetOrigin(t time.Time) {
	e.origin.Do(func() {})
	e.mu.Lock()
	e.setOrigin(t)
	e.mu.Unlock()
}

func (e *Emulator) setOrigin(t time.Time) {
	e.model.SetOrigin(t)
	if cm, ok := e.decider.(*server.CapacityModel); ok {
		cm.SetOrigin(t)
	}
}

// decide asks the throttling model about r at the emulator's current time.
func (e *Emulator) decide(r server.Request) server.Verdict {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.decider.Decide(e.clock(), r)
}

// now reads the emulator's clock (for timestamps in responses).
func (e *Emulator) now() time.Time { return e.clock() }

// pause sleeps for the configured latency plus jitter, or until ctx ends.
func (e *Emulator) pause(ctx context.Context) {
	d := e.opts.Latency
	if j := e.opts.LatencyJitter; j > 0 {
		e.mu.Lock()
		d += time.Duration(e.rng.Int64N(int64(j)))
		e.mu.Unlock()
	}
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// randomBytes fills p from the seeded source.
func (e *Emulator) randomBytes(p []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := 0; i < len(p); i += 8 {
		v := e.rng.Uint64()
		for j := 0; j < 8 && i+j < len(p); j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
}
