package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/server"
	"github.com/tollgate/tollgate/simulate/trace"
)

// FitOptions tune Fit.
type FitOptions struct {
	// StreakGap ends a saturated period: throttles further apart than this belong to
	// different periods (default 2 s).
	StreakGap time.Duration
	// IdleGap is how long an API must go without requests for the next request to start a
	// burst window (default 1 s); the trace's first request always starts one.
	IdleGap time.Duration
	// OrderWindow and OrderBuffer bound how far out of time order records may come
	// (trace.InOrder; 0: its defaults). A record later than that stops FitContext with a
	// *trace.OrderError naming its file and line.
	OrderWindow time.Duration
	OrderBuffer int
}

// Fit is the estimated server bucket of one API (and partition).
type Fit struct {
	Service   string `json:"service"`
	Operation string `json:"operation"`
	Region    string `json:"region"`
	Resource  string `json:"resource,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	// Rate is the refill rate: requests accepted per second while the API was saturated
	// (between the first and last throttle of each saturated period). 0 when never saturated.
	Rate float64 `json:"rate"`
	// Burst is the bucket's capacity: the most requests accepted from an idle start until the
	// first throttle, minus what the bucket refilled meanwhile (rounded up: the bucket held
	// less than one token at the throttle). 0 when unknown.
	Burst      int     `json:"burst"`
	Accepted   uint64  `json:"accepted"`
	Throttled  uint64  `json:"throttled"`
	SaturatedS float64 `json:"saturated_s"`
	// Saturated is false when the API was never throttled: its bucket cannot be estimated.
	Saturated bool `json:"saturated"`
}

type fitKey struct{ service, operation, region, resource, prefix string }

type onset struct {
	accepted uint64
	d        time.Duration
}

// fitState is the streaming state of one key.
type fitState struct {
	accepted, throttled uint64
	last                time.Time // last request
	// saturated periods
	inStreak             bool
	streakStart, lastThr time.Time
	acceptedAtStart      uint64 // accepted count when the streak began
	acceptedAtLastThr    uint64 // accepted count at the streak's last throttle
	satAccepted          uint64
	satTime              time.Duration
	// burst windows
	onsetOpen     bool
	onsetAt       time.Time
	onsetAccepted uint64 // accepted count when the window opened
	onsets        []onset
}

const maxOnsets = 64

// Fitter estimates server buckets from a stream of trace records (see Fit). It keeps constant
// memory per API and partition.
type Fitter struct {
	opts  FitOptions
	keys  map[fitKey]*fitState
	order []fitKey
}

// NewFitter returns a Fitter.
func NewFitter(opts FitOptions) *Fitter {
	if opts.StreakGap <= 0 {
		opts.StreakGap = 2 * time.Second
	}
	if opts.IdleGap <= 0 {
		opts.IdleGap = time.Second
	}
	return &Fitter{opts: opts, keys: map[fitKey]*fitState{}}
}

// partitionOf returns the partition fields a record is fitted by: S3 by bucket and key prefix
// (server.PrefixOf), services with per-resource quotas by resource, others by neither.
func partitionOf(r *trace.Record) (resource, prefix string) {
	switch {
	case strings.EqualFold(r.Service, "S3"):
		return r.Resource, server.PrefixOf(r.Key)
	case strings.EqualFold(r.Service, "DynamoDB"), strings.EqualFold(r.Service, "Lambda"), strings.EqualFold(r.Service, "Kinesis"), strings.EqualFold(r.Service, "SQS"):
		return r.Resource, ""
	}
	return "", ""
}

// Add feeds one record. Records must come in time order (FitContext makes sure of it); a record
// earlier than the one before it for its API is taken as happening at that one's time, so that
// no period comes out negative.
func (f *Fitter) Add(r *trace.Record) {
	res, pre := partitionOf(r)
	k := fitKey{r.Service, r.Operation, r.Region, res, pre}
	st := f.keys[k]
	if st != nil && r.Time.Before(st.last) {
		c := *r
		c.Time = st.last
		r = &c
	}
	if st == nil {
		st = &fitState{}
		k = fitKey{strings.Clone(k.service), strings.Clone(k.operation), strings.Clone(k.region), strings.Clone(k.resource), strings.Clone(k.prefix)}
		f.keys[k] = st
		f.order = append(f.order, k)
		st.openOnset(r.Time, 0)
	} else if r.Time.Sub(st.last) >= f.opts.IdleGap {
		st.openOnset(r.Time, st.accepted)
	}
	st.last = r.Time
	switch r.Outcome {
	case trace.OutcomeSuccess:
		st.accepted++
	case trace.OutcomeThrottled:
		st.throttled++
		if st.onsetOpen {
			st.addOnset(onset{accepted: st.accepted - st.onsetAccepted, d: r.Time.Sub(st.onsetAt)})
			st.onsetOpen = false
		}
		if st.inStreak && r.Time.Sub(st.lastThr) > f.opts.StreakGap {
			st.closeStreak()
		}
		if !st.inStreak {
			st.inStreak, st.streakStart, st.acceptedAtStart = true, r.Time, st.accepted
		}
		st.lastThr, st.acceptedAtLastThr = r.Time, st.accepted
	}
}

func (st *fitState) openOnset(t time.Time, accepted uint64) {
	st.onsetOpen, st.onsetAt, st.onsetAccepted = true, t, accepted
}

func (st *fitState) addOnset(o onset) {
	if len(st.onsets) < maxOnsets {
		st.onsets = append(st.onsets, o)
		return
	}
	i := 0
	for j := range st.onsets {
		if st.onsets[j].accepted < st.onsets[i].accepted {
			i = j
		}
	}
	if o.accepted > st.onsets[i].accepted {
		st.onsets[i] = o
	}
}

func (st *fitState) closeStreak() {
	if !st.inStreak {
		return
	}
	st.satAccepted += st.acceptedAtLastThr - st.acceptedAtStart
	st.satTime += st.lastThr.Sub(st.streakStart)
	st.inStreak = false
}

// Fits returns the estimate of every API and partition seen, in order of first appearance.
func (f *Fitter) Fits() []Fit {
	out := make([]Fit, 0, len(f.order))
	for _, k := range f.order {
		st := f.keys[k]
		inStreak, satA, satT := st.inStreak, st.satAccepted, st.satTime
		if inStreak {
			satA += st.acceptedAtLastThr - st.acceptedAtStart
			satT += st.lastThr.Sub(st.streakStart)
		}
		fit := Fit{Service: k.service, Operation: k.operation, Region: k.region, Resource: k.resource, Prefix: k.prefix,
			Accepted: st.accepted, Throttled: st.throttled, SaturatedS: round(satT.Seconds(), 3)}
		if st.throttled > 0 && satT > 0 {
			fit.Saturated = true
			fit.Rate = float64(satA) / satT.Seconds()
			best := 0.0
			for _, o := range st.onsets {
				best = max(best, float64(o.accepted)-fit.Rate*o.d.Seconds())
			}
			// For an onset with a full bucket, accepted = burst + refill − what was left at the
			// first throttle (under one token): burst is best rounded up.
			fit.Burst = max(1, int(math.Ceil(best-1e-6)))
			fit.Rate = round(fit.Rate, 3)
		}
		out = append(out, fit)
	}
	return out
}

// FitSource is FitContext without a context.
func FitSource(src trace.Source, opts FitOptions) ([]Fit, uint64, error) {
	return FitContext(context.Background(), src, opts)
}

// FitContext reads src to its end and fits every API in it. It returns the number of records
// skipped as unusable. Records are put in time order as they are read (trace.InOrder, unless
// src is one already): a trace too far out of order stops the fit with a *trace.OrderError
// naming the first record that could not be placed. It stops with ctx's error when ctx is done.
func FitContext(ctx context.Context, src trace.Source, opts FitOptions) ([]Fit, uint64, error) {
	if _, ok := src.(*trace.Ordered); !ok {
		src = trace.InOrder(src, opts.OrderWindow, opts.OrderBuffer)
	}
	f := NewFitter(opts)
	var rec trace.Record
	var skipped uint64
	for n := 0; ; n++ {
		if n&0xfff == 0 && ctx.Err() != nil {
			return nil, skipped, ctx.Err()
		}
		err := src.Read(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			var ie *trace.InputError
			if errors.As(err, &ie) {
				skipped++
				continue
			}
			return nil, skipped, err
		}
		f.Add(&rec)
	}
	return f.Fits(), skipped, nil
}

// FitRules turns fits into limiter rules: one rule per service, operation and Region, with the
// highest rate and burst fitted for any of its partitions (partitioned by prefix for S3, by
// resource for per-resource services). APIs that were never throttled get no rule (their
// bucket is unknown), nor do operations the limiter does not know. source names the trace.
func FitRules(fits []Fit, source string) limiter.Rules {
	type agg struct {
		fit   Fit
		parts int
	}
	var order []fitKey
	byAPI := map[fitKey]*agg{}
	for _, f := range fits {
		if !f.Saturated {
			continue
		}
		k := fitKey{service: f.Service, operation: f.Operation, region: f.Region}
		a := byAPI[k]
		if a == nil {
			a = &agg{fit: f}
			byAPI[k] = a
			order = append(order, k)
		} else {
			a.fit.Rate = max(a.fit.Rate, f.Rate)
			a.fit.Burst = max(a.fit.Burst, f.Burst)
			a.fit.Accepted += f.Accepted
			a.fit.Throttled += f.Throttled
		}
		a.parts++
	}
	var rules limiter.Rules
	for _, k := range order {
		a := byAPI[k]
		f := a.fit
		r := limiter.Rule{
			Name:      strings.ToLower(fmt.Sprintf("fit-%s-%s", f.Service, f.Operation)),
			Service:   f.Service,
			Operation: f.Operation,
			Region:    f.Region,
			Rate:      f.Rate,
			Burst:     f.Burst,
			Source: fmt.Sprintf("fitted by tollgate fit from %s: %d accepted, %d throttled, %d partition(s)",
				source, f.Accepted, f.Throttled, a.parts),
		}
		if f.Region != "" {
			r.Name += "-" + strings.ToLower(f.Region)
		}
		switch {
		case f.Prefix != "" || strings.EqualFold(f.Service, "S3"):
			r.Partition, r.Scope = limiter.PartitionPrefix, limiter.ScopeOperation
		case f.Resource != "":
			r.Partition = limiter.PartitionResource
		}
		if (limiter.Rules{r}).Validate() != nil {
			continue
		}
		rules = append(rules, r)
	}
	return rules
}

// WriteRules writes rules as a limiter rules file (YAML) that limiter.ParseRules accepts.
func WriteRules(w io.Writer, rules limiter.Rules, header string) error {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
		if line != "" {
			b.WriteString("# " + line + "\n")
		}
	}
	b.WriteString("rules:\n")
	if len(rules) == 0 {
		b.Reset()
		for _, line := range strings.Split(strings.TrimSpace(header), "\n") {
			if line != "" {
				b.WriteString("# " + line + "\n")
			}
		}
		b.WriteString("rules: []\n")
	}
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	for _, r := range rules {
		fmt.Fprintf(&b, "  - name: %s\n    service: %s\n    operation: %s\n", q(r.Name), q(r.Service), q(r.Operation))
		if r.Region != "" {
			fmt.Fprintf(&b, "    region: %s\n", q(r.Region))
		}
		fmt.Fprintf(&b, "    rate: %s\n    burst: %d\n", trimFloat(r.Rate), r.Burst)
		if r.Partition != limiter.PartitionNone {
			fmt.Fprintf(&b, "    partition: %s\n", r.Partition)
		}
		if r.Scope != limiter.ScopeOperation {
			fmt.Fprintf(&b, "    scope: %s\n", r.Scope)
		}
		fmt.Fprintf(&b, "    source: %s\n", q(r.Source))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func trimFloat(x float64) string {
	s := fmt.Sprintf("%.3f", x)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
