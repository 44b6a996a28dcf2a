package server

import (
	"strings"
	"time"

	"github.com/tollgate/tollgate/internal/vtime"
	"github.com/tollgate/tollgate/limiter"
)

// Defaults for the S3 partition model. AWS takes tens of minutes to split a partition; these are
// compressed so a local load run sees the whole cycle (SlowDown, split, relief) in about a
// minute and a quarter. Both are configurable.
const (
	// DefaultSplitAfter is how long a partition must keep refusing requests before S3
	// schedules a split.
	DefaultSplitAfter = 10 * time.Second
	// DefaultSplitDelay is how long a scheduled split takes to happen.
	DefaultSplitDelay = time.Minute
)

// overloadGap ends an overload streak: a partition that refuses nothing for this long is no
// longer overloaded.
const overloadGap = time.Second

// PrefixOf returns the partitioning prefix the S3 model uses for an object key: the key up to
// and including its last '/', or "" for keys without one. S3 partitions by key ranges, not by
// '/', but this is the prefix users design key layouts around ("logs/2025/03/").
func PrefixOf(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[:i+1]
	}
	return ""
}

// Partitions models how S3 partitions a bucket's key space. Every bucket starts as one shared
// parent partition; a prefix that has been split off gets a partition of its own. Each partition
// has the token buckets of the S3 rules (by default 5,500 reads and 3,500 writes per second):
// the limiter key's Prefix is the partition ("" for the parent). When the parent keeps refusing
// requests (SlowDown) for SplitAfter, with no second free of refusals, S3 schedules a split of
// the prefix that sent the parent the most requests during that overload; the split happens
// SplitDelay later, and requests keep getting SlowDown meanwhile. A prefix's own partition does
// not split further, and the bucket-root prefix "" cannot be split off.
//
// Partitions reads no clock and starts no goroutine; it is not safe for concurrent use.
type Partitions struct {
	lim                    *limiter.Limiter
	splitAfter, splitDelay time.Duration
	buckets                map[bucketID]*bucketPartitions
	presplit               map[string][]string // bucket → prefixes with their own partition from the start
	splits                 int
	log                    []Split
	// the bucket of the latest request, for the next one (requests mostly go to one bucket)
	last *bucketPartitions
}

type bucketID struct{ region, bucket string }

// bucketPartitions is one S3 bucket's partition state.
type bucketPartitions struct {
	id    bucketID
	split map[string]struct{} // prefixes with their own partition
	// The parent partition's overload streak: when it began and the last refusal in it.
	overloadSince, lastRefusal time.Time
	// splitAt is when the scheduled split happens (zero: none scheduled), of prefix split.
	splitAt   time.Time
	splitting string
	// hot counts the parent's requests by prefix during the streak: a Misra–Gries summary,
	// which keeps every prefix sending more than 1/(len(hot)+1) of them, in constant memory.
	hot [4]prefixCount
}

type prefixCount struct {
	prefix string
	n      int
}

// NewPartitions returns a partition model whose partitions are charged to lim. splitAfter and
// splitDelay <= 0 mean DefaultSplitAfter and DefaultSplitDelay.
func NewPartitions(lim *limiter.Limiter, splitAfter, splitDelay time.Duration) *Partitions {
	if splitAfter <= 0 {
		splitAfter = DefaultSplitAfter
	}
	if splitDelay <= 0 {
		splitDelay = DefaultSplitDelay
	}
	return &Partitions{lim: lim, splitAfter: splitAfter, splitDelay: splitDelay, buckets: map[bucketID]*bucketPartitions{}}
}

// Presplit gives prefix of bucket (in every Region) its own partition from the start, as for a
// bucket whose traffic S3 has already scaled to. It applies to buckets not seen yet; call it
// before serving.
func (p *Partitions) Presplit(bucket, prefix string) {
	if p.presplit == nil {
		p.presplit = map[string][]string{}
	}
	p.presplit[bucket] = append(p.presplit[bucket], prefix)
}

// Splits returns how many partition splits have happened.
func (p *Partitions) Splits() int { return p.splits }

// Split is a partition split that happened: Prefix of Bucket (in Region) got its own partition
// at At.
type Split struct {
	Region, Bucket, Prefix string
	At                     time.Time
}

// SplitLog returns the splits that have happened, in order. A split takes effect at its
// scheduled time; the model applies it at the bucket's first request from then on.
func (p *Partitions) SplitLog() []Split { return p.log }

// HasPartition reports whether prefix has been split off into its own partition of bucket.
func (p *Partitions) HasPartition(region, bucket, prefix string) bool {
	bp := p.buckets[bucketID{region, bucket}]
	if bp == nil {
		return false
	}
	_, ok := bp.split[prefix]
	return ok
}

// Admit decides an S3 request at now: r.Resource is the bucket, r.Prefix the key's prefix
// (PrefixOf). It returns whether the request is admitted and the name of the rule that refused it.
func (p *Partitions) Admit(now time.Time, r Request) (bool, string) {
	bp := p.last
	if bp == nil || r.Resource != bp.id.bucket || r.Region != bp.id.region {
		bp = p.buckets[bucketID{r.Region, r.Resource}]
		if bp == nil {
			bp = &bucketPartitions{id: bucketID{strings.Clone(r.Region), strings.Clone(r.Resource)}, split: map[string]struct{}{}}
			for _, prefix := range p.presplit[r.Resource] {
				bp.split[prefix] = struct{}{}
			}
			p.buckets[bp.id] = bp
		}
		p.last = bp
	}
	if !bp.splitAt.IsZero() && !now.Before(bp.splitAt) {
		bp.split[bp.splitting] = struct{}{}
		p.splits++
		p.log = append(p.log, Split{Region: bp.id.region, Bucket: bp.id.bucket, Prefix: bp.splitting, At: bp.splitAt})
		*bp = bucketPartitions{id: bp.id, split: bp.split}
	}
	partition := ""
	if len(bp.split) > 0 {
		if _, ok := bp.split[r.Prefix]; ok {
			partition = r.Prefix
		}
	}
	ok, rule := p.lim.Allow(now, limiter.Key{
		Region: r.Region, Service: r.Service, Operation: r.Operation, Resource: r.Resource, Prefix: partition,
	}, units(r))
	if partition == "" {
		bp.observe(now, r.Prefix, ok, p.splitAfter, p.splitDelay)
	}
	return ok, rule
}

// observe updates the parent partition's overload streak with one of its decisions.
func (bp *bucketPartitions) observe(now time.Time, prefix string, admitted bool, splitAfter, splitDelay time.Duration) {
	if !bp.splitAt.IsZero() {
		return // a split is scheduled: it happens whatever the traffic does now
	}
	if !bp.overloadSince.IsZero() && vtime.Sub(now, bp.lastRefusal) > overloadGap {
		bp.overloadSince, bp.hot = time.Time{}, [4]prefixCount{} // the overload is over
	}
	if !admitted {
		if bp.overloadSince.IsZero() {
			bp.overloadSince = now
		}
		bp.lastRefusal = now
	}
	if bp.overloadSince.IsZero() {
		return
	}
	bp.count(prefix)
	if vtime.Sub(now, bp.overloadSince) >= splitAfter {
		if hot := bp.hottest(); hot != "" {
			bp.splitting = strings.Clone(hot)
			bp.splitAt = now.Add(splitDelay)
		}
	}
}

// count adds one request for prefix to the Misra–Gries summary ("" is not counted: the bucket
// root cannot be split off).
func (bp *bucketPartitions) count(prefix string) {
	if prefix == "" {
		return
	}
	free := -1
	for i := range bp.hot {
		switch {
		case bp.hot[i].n > 0 && bp.hot[i].prefix == prefix:
			bp.hot[i].n++
			return
		case bp.hot[i].n == 0 && free < 0:
			free = i
		}
	}
	if free >= 0 {
		bp.hot[free] = prefixCount{prefix, 1}
		return
	}
	for i := range bp.hot {
		bp.hot[i].n--
	}
}

// hottest returns the prefix with the highest count in the summary, or "".
func (bp *bucketPartitions) hottest() string {
	best := prefixCount{}
	for _, c := range bp.hot {
		if c.n > best.n {
			best = c
		}
	}
	return best.prefix
}

func units(r Request) int {
	if r.Units <= 0 {
		return 1
	}
	return r.Units
}
