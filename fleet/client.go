package fleet

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate/tollgate/event"
)

// Options configure a Client. The zero value means DefaultPrefix, a generated client ID, the
// default lease policy (fail-open), DefaultTimeout and the default breaker.
type Options struct {
	// Prefix starts every key (default DefaultPrefix). Processes share a bucket only if they
	// use the same prefix; it must not contain '{' or '}'.
	Prefix string
	// ClientID names this process in the store; it must be unique in the fleet (default:
	// hostname, pid and a random suffix).
	ClientID string
	// Policy is the lease length and the fallback.
	Policy Policy
	// Timeout bounds every store call (default DefaultTimeout). No call waits on the store
	// longer than this: a renewal that has not answered by then has failed.
	Timeout time.Duration
	// FailureThreshold is the consecutive failed store calls that open a bucket's circuit
	// breaker (default DefaultFailureThreshold).
	FailureThreshold int
	// Cooldown is how long an open breaker waits before it lets one probe through (default
	// DefaultCooldown); it doubles on every failed probe up to MaxCooldown (default
	// DefaultMaxCooldown).
	Cooldown, MaxCooldown time.Duration
	// Observer receives LeaseRenewed, StoreFallback and StoreRecovered events (nil: none).
	Observer event.Observer
	// Logger logs fallbacks, recoveries and lost state (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock for renewals' bookkeeping (nil: time.Now). Decisions take the caller's
	// now, like the limiter's.
	Now func() time.Time
	// TLS replaces the TLS configuration of a rediss:// URL given to fleetredis.Dial (nil: the system's
	// roots, the URL's host name). New ignores it: configure the go-redis client instead.
	TLS *tls.Config
}

// Client shares token buckets among the processes of a fleet through Redis. Each process
// creates one Client; every decision is made locally from the process's lease on the bucket,
// and leases are renewed in the background before they run out, so a decision touches Redis only
// the first time a process uses a bucket (or after the bucket has been idle for a lease length),
// and then waits at most Options.Timeout. It is safe for concurrent use.
type Client struct {
	rdb Conn
	opt Options
	log *slog.Logger

	mu      sync.RWMutex
	buckets map[BucketID]*bucket

	inflight   sync.WaitGroup
	roundTrips atomic.Uint64
	decisions  atomic.Uint64

	conn  io.Closer // the connection NewOwning was given (closed by Close), or nil
	where string    // where that connection goes, without a password, for logs
}

// bucket is a Client's state for one shared bucket; mu guards everything below it.
type bucket struct {
	id   BucketID
	keys [2]string

	mu            sync.Mutex
	spec          Spec
	acct          *Account
	br            breaker
	done          chan struct{} // closed when the renewal in flight ends; nil when none
	inFallback    bool
	fallbackSince time.Time
	lastFailure   string // "timeout" or "error": why the latest store call failed
}

// New returns a Client that keeps shared buckets in Redis through rdb (fleetredis.New and
// fleetredis.Dial make one over a go-redis client).
func New(rdb Conn, opt Options) (*Client, error) {
	return NewOwning(rdb, nil, "", opt)
}

// NewOwning is New for a connection the Client owns: Close closes closer (nil: nothing), and
// messages about it name where (an address without its password).
func NewOwning(rdb Conn, closer io.Closer, where string, opt Options) (*Client, error) {
	if rdb == nil {
		return nil, errors.New("fleet: no Redis client")
	}
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix
	}
	if err := checkPrefix(opt.Prefix); err != nil {
		return nil, err
	}
	if opt.ClientID == "" {
		opt.ClientID = defaultClientID()
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.FailureThreshold <= 0 {
		opt.FailureThreshold = DefaultFailureThreshold
	}
	if opt.Cooldown <= 0 {
		opt.Cooldown = DefaultCooldown
	}
	if opt.MaxCooldown < opt.Cooldown {
		opt.MaxCooldown = max(DefaultMaxCooldown, opt.Cooldown)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if f := opt.Policy.FallbackShare; f < 0 || f > 1 {
		return nil, fmt.Errorf("fleet: fallback share %v: must be between 0 and 1", f)
	}
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Client{rdb: rdb, opt: opt, log: log, buckets: map[BucketID]*bucket{}, conn: closer, where: where}, nil
}

// defaultClientID is hostname-pid-random: unique per process incarnation.
func defaultClientID() string {
	host, _ := os.Hostname()
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// ClientID is the name this process has in the store.
func (c *Client) ClientID() string { return c.opt.ClientID }

// RoundTrips is the number of store calls made so far (renewals and releases).
func (c *Client) RoundTrips() uint64 { return c.roundTrips.Load() }

// Decisions is the number of decisions made so far.
func (c *Client) Decisions() uint64 { return c.decisions.Load() }

func (c *Client) bucket(id BucketID, spec Spec) *bucket {
	c.mu.RLock()
	b := c.buckets[id]
	c.mu.RUnlock()
	if b != nil {
		return b
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b = c.buckets[id]; b == nil {
		b = &bucket{id: id, keys: keys(c.opt.Prefix, id), spec: spec,
			acct:        NewAccount(c.opt.ClientID, spec, c.opt.Policy),
			br:          breaker{threshold: c.opt.FailureThreshold, cooldown: c.opt.Cooldown, maxCooldown: c.opt.MaxCooldown},
			lastFailure: "breaker_open"}
		c.buckets[id] = b
	}
	return b
}

// Reserve decides a call of n tokens on the shared bucket id (of shape spec) at now, as
// Account.Reserve does: admitted now, admitted after Decision.Delay, queued for a later lease
// (Decision.Queued: ask again after Delay with Redecide, or Unqueue), or refused. maxWait < 0
// means no limit. It waits for the store only when the process holds no lease on the bucket,
// and then at most Options.Timeout. A limiter built WithStore(Store(...)) does all this for
// its callers.
func (c *Client) Reserve(now time.Time, id BucketID, spec Spec, n float64, maxWait time.Duration) Decision {
	return c.decide(now, id, spec, n, maxWait, true, false)
}

// Redecide is Reserve for a call asking again after waiting: one that was refused for want of
// a share, or queued (queued set: Decision.Queued). Its demand was counted the first time.
func (c *Client) Redecide(now time.Time, id BucketID, spec Spec, n float64, maxWait time.Duration, queued bool) Decision {
	return c.decide(now, id, spec, n, maxWait, false, queued)
}

// Allow takes n tokens of the shared bucket id if the process holds them at now.
func (c *Client) Allow(now time.Time, id BucketID, spec Spec, n float64) Decision {
	return c.decide(now, id, spec, n, 0, true, false)
}

// Feedback records AWS's answer to a call on bucket id at now (see Account.Feedback): the
// fleet learns its rate from every process's answers. A throttle brings the next renewal
// forward; it starts here, in the background, if it is due.
func (c *Client) Feedback(now time.Time, id BucketID, throttled bool, retryAfter time.Duration) {
	b := c.lookup(id)
	if b == nil {
		return
	}
	b.mu.Lock()
	b.acct.Feedback(now, throttled, retryAfter)
	if b.done == nil && b.acct.RenewDue(now) && b.br.allow(now) {
		c.renew(b, now)
	}
	b.mu.Unlock()
}

// Bucket reports bucket id as this process sees it at now: the fleet's rate in force, its
// burst, whether it was learned, and the tokens this process holds and can hold. ok is false
// for a bucket this process has not used.
func (c *Client) Bucket(now time.Time, id BucketID) (st BucketState, ok bool) {
	b := c.lookup(id)
	if b == nil {
		return BucketState{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return bucketState(now, b.acct), true
}

func (c *Client) lookup(id BucketID) *bucket {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.buckets[id]
}

// Cancel gives back n tokens that Reserve reserved for a call that will not be sent.
func (c *Client) Cancel(now time.Time, id BucketID, n float64) {
	b := c.lookup(id)
	if b == nil {
		return
	}
	b.mu.Lock()
	b.acct.Cancel(now, n)
	b.mu.Unlock()
}

// Unqueue takes a queued call of n tokens on bucket id out of the queue: its caller gave up.
func (c *Client) Unqueue(id BucketID, n float64) {
	if b := c.lookup(id); b != nil {
		b.mu.Lock()
		b.acct.Unqueue(n)
		b.mu.Unlock()
	}
}

// Mode reports where bucket id's tokens come from (NoLease for a bucket never used).
func (c *Client) Mode(id BucketID) Mode {
	c.mu.RLock()
	b := c.buckets[id]
	c.mu.RUnlock()
	if b == nil {
		return NoLease
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.acct.Mode()
}

func (c *Client) decide(now time.Time, id BucketID, spec Spec, n float64, maxWait time.Duration, count bool, queued bool) Decision {
	c.decisions.Add(1)
	b := c.bucket(id, spec)
	var evs [2]event.Event
	ne := 0
	b.mu.Lock()
	if spec != b.spec {
		b.spec = spec
		b.acct.SetSpec(spec)
	}
	if queued {
		b.acct.Unqueue(n) // it asks again; it goes back to the queue if it must wait longer
	}
	d := b.acct.take(now, n, maxWait, count, queued)
	if d.NeedLease {
		if b.done != nil || b.br.allow(now) {
			done := c.renew(b, now)
			b.mu.Unlock()
			<-done // the renewal ends within Options.Timeout
			b.mu.Lock()
			d = b.acct.take(now, n, maxWait, false, queued)
		}
		if d.NeedLease && b.done == nil {
			// The store did not answer (or the breaker is open): fall back.
			b.acct.Fallback(now)
			if e, ok := c.enterFallback(b, now, b.lastFailure, 0); ok {
				evs[ne], ne = e, ne+1
			}
			d = b.acct.take(now, n, maxWait, false, queued)
		}
		if d.NeedLease { // another renewal started meanwhile and is in flight
			d = Decision{Reason: RefusedShare}
		}
	}
	if b.done == nil && b.acct.RenewDue(now) && b.br.allow(now) {
		c.renew(b, now)
	}
	b.mu.Unlock()
	c.emit(evs[:ne]...)
	return d
}

// renew starts a renewal of b's lease in the background and returns a channel closed when it
// ends (that of the renewal already in flight, if any). b.mu is held.
func (c *Client) renew(b *bucket, now time.Time) chan struct{} {
	if b.done != nil {
		return b.done
	}
	q := b.acct.Begin(now)
	done := make(chan struct{})
	b.done = done
	c.inflight.Add(1)
	go c.runRenewal(b, q, done)
	return done
}

type scriptResult struct {
	r   Reply
	err error
}

// call runs the lease script for q, giving up after Options.Timeout whatever go-redis does
// (its own timeouts and retries may be longer: the answer, if it comes, is then ignored, and a
// duplicate that reaches Redis is recognised by its request id).
func (c *Client) call(b *bucket, q *Request) (Reply, error) {
	c.roundTrips.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), c.opt.Timeout)
	defer cancel()
	ch := make(chan scriptResult, 1)
	go func() {
		r, err := runScript(ctx, c.rdb, b.keys, q, 0)
		ch <- scriptResult{r, err}
	}()
	timer := time.NewTimer(c.opt.Timeout)
	defer timer.Stop()
	select {
	case res := <-ch:
		return res.r, res.err
	case <-timer.C:
		return Reply{}, context.DeadlineExceeded
	}
}

func (c *Client) runRenewal(b *bucket, q Request, done chan struct{}) {
	defer c.inflight.Done()
	start := c.opt.Now()
	r, err := c.call(b, &q)
	end := c.opt.Now()

	var evs [2]event.Event
	ne := 0
	b.mu.Lock()
	if err == nil {
		b.br.success()
		b.acct.Complete(end, q.ReqID, r)
		e := c.event(event.LeaseRenewed, b, end)
		e.Value, e.Capacity, e.Duration = r.Share, r.Burst, end.Sub(start)
		if r.Lost {
			e.Reason = "state_lost"
			c.log.Warn("fleet: the store had lost this bucket; rebuilt with an empty pool",
				"bucket", b.id.String(), "epoch", r.Epoch)
		}
		evs[ne], ne = e, ne+1
		if b.inFallback {
			b.inFallback = false
			e := c.event(event.StoreRecovered, b, end)
			e.Duration, e.Value = end.Sub(b.fallbackSince), q.Unbacked
			evs[ne], ne = e, ne+1
			c.log.Info("fleet: store reachable again; bucket leased from it again",
				"bucket", b.id.String(), "fallback_for", e.Duration, "unbacked_tokens", q.Unbacked)
		}
	} else {
		b.br.failure(end)
		b.acct.Fail(end, q.ReqID)
		b.lastFailure = "error"
		if errors.Is(err, context.DeadlineExceeded) {
			b.lastFailure = "timeout"
		}
		if b.br.open {
			b.lastFailure = "breaker_open"
		}
		c.log.Debug("fleet: lease renewal failed", "bucket", b.id.String(), "err", err)
	}
	b.done = nil
	b.mu.Unlock()
	close(done)
	c.emit(evs[:ne]...)
}

// enterFallback marks b as falling back at now and returns the StoreFallback event, unless it
// already was. b.mu is held.
func (c *Client) enterFallback(b *bucket, now time.Time, reason string, took time.Duration) (event.Event, bool) {
	if b.inFallback {
		return event.Event{}, false
	}
	b.inFallback, b.fallbackSince = true, now
	e := c.event(event.StoreFallback, b, now)
	e.Reason, e.Duration = reason, took
	e.Value, e.Capacity = b.acct.fallbackShape()
	c.log.Warn("fleet: store unreachable; falling back to a local share",
		"bucket", b.id.String(), "reason", reason, "fallback_rate", e.Value, "fail_closed", c.opt.Policy.FailClosed)
	return e, true
}

func (c *Client) event(k event.Kind, b *bucket, now time.Time) event.Event {
	return event.Event{Kind: k, Time: now, Service: b.id.Service, Operation: b.id.Operation,
		Region: b.id.Region, Rule: b.id.Rule}
}

func (c *Client) emit(evs ...event.Event) {
	if c.opt.Observer == nil {
		return
	}
	for _, e := range evs {
		c.opt.Observer.Observe(e)
	}
}

// Close waits for renewals in flight, then gives every lease back to the store (one round trip
// per leased bucket, each bounded by Options.Timeout), so the fleet gets this process's share
// and unspent tokens at once instead of when its leases end. ctx bounds the whole. A Client
// from Dial then closes its connection.
func (c *Client) Close(ctx context.Context) (err error) {
	if c.conn != nil {
		defer func() {
			if cerr := c.conn.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("fleet: close the connection to %s: %w", c.where, cerr))
			}
		}()
	}
	waited := make(chan struct{})
	go func() { c.inflight.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		return fmt.Errorf("fleet: close: %w", ctx.Err())
	}
	c.mu.RLock()
	bs := make([]*bucket, 0, len(c.buckets))
	for _, b := range c.buckets {
		bs = append(bs, b)
	}
	c.mu.RUnlock()
	var errs []error
	for _, b := range bs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("fleet: close: %w", err)
		}
		b.mu.Lock()
		now := c.opt.Now()
		b.acct.advance(now)
		if b.acct.Mode() != Leased || b.done != nil {
			b.mu.Unlock()
			continue
		}
		q := b.acct.Begin(now)
		q.Release = true
		b.mu.Unlock()
		r, err := c.call(b, &q)
		b.mu.Lock()
		if err != nil {
			b.acct.Fail(c.opt.Now(), q.ReqID)
			errs = append(errs, fmt.Errorf("fleet: release %s: %w", b.id, err))
		} else {
			b.acct.Complete(c.opt.Now(), q.ReqID, r)
		}
		b.mu.Unlock()
	}
	return errors.Join(errs...)
}
