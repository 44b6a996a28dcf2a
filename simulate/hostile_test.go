package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/internal/memtest"
	"github.com/tollgate/tollgate/internal/tracetest"
	"github.com/tollgate/tollgate/limiter"
	"github.com/tollgate/tollgate/simulate/trace"
)

// Hostile and careless input to the simulator's entry points (issue 15): each case is refused
// with an error naming the file, line and field where there is a file, or runs correctly;
// never a panic, never a silently wrong result, never unbounded memory or work.

// writeFiles writes name → content into a new directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const slowRules = "rules:\n  - name: slow\n    service: EC2\n    operation: DescribeInstances\n    rate: %s\n    burst: 1\n"

func replayFile(dir, name string) func() (trace.Source, error) {
	return func() (trace.Source, error) { return trace.Open(filepath.Join(dir, name), trace.FormatAuto) }
}

func TestReplayHostileInput(t *testing.T) {
	sorted := tracetest.Steady(20000)
	dir := writeFiles(t, map[string]string{
		"two-centuries.jsonl": tracetest.Lines([]time.Time{time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}),
		"sorted.jsonl":        tracetest.Lines(sorted),
		"unsorted.jsonl":      tracetest.Lines(tracetest.Shuffled(sorted, 7)),
		"slow-1e-6.yaml":      fmt.Sprintf(slowRules, "1e-6"),
		"slow-1e-9.yaml":      fmt.Sprintf(slowRules, "1e-9"),
		"shadow":              "root:$6$SECRETHASH:19000:0:99999:7:::\n",
		"bomb.yaml":           rulesBomb(),
	})
	tollgateOnly, _ := ParseStrategies("tollgate", StrategyOptions{})
	cases := []struct {
		name  string
		opts  ReplayOptions
		want  string // the error must contain it
		check func(error) bool
		quote string // the error must not contain it
	}{
		{name: "times 325 years apart", opts: ReplayOptions{Open: replayFile(dir, "two-centuries.jsonl")},
			want: `two-centuries.jsonl:2: field "time": 2025-01-01T00:00:00Z is 325 years after the trace's first record`},
		{name: "rate 1e-6 given to tollgate", opts: ReplayOptions{Open: replayFile(dir, "sorted.jsonl"), RulesFile: filepath.Join(dir, "slow-1e-6.yaml")},
			want:  `slow-1e-6.yaml:5: replay rules: rule "slow": field "rate": 1e-06 per second refills 1 token(s) every 11.6 days`,
			check: func(err error) bool { var re *RuleError; return errors.As(err, &re) && re.Line == 5 }},
		{name: "tollgate rules rate 1e-9", opts: ReplayOptions{Open: replayFile(dir, "sorted.jsonl"), TollgateRulesFile: filepath.Join(dir, "slow-1e-9.yaml")},
			want: `slow-1e-9.yaml:5: tollgate rules: rule "slow": field "rate"`},
		{name: "rate 1e-6 as rules values", opts: ReplayOptions{Open: replayFile(dir, "sorted.jsonl"),
			Rules: limiter.Rules{{Name: "slow", Service: "EC2", Operation: "DescribeInstances", Rate: 1e-6, Burst: 1}}},
			want: `replay rules: rule "slow": field "rate"`},
		{name: "unsorted trace", opts: ReplayOptions{Open: replayFile(dir, "unsorted.jsonl")},
			want: `unsorted.jsonl:`,
			check: func(err error) bool {
				var oe *trace.OrderError
				return errors.As(err, &oe) && oe.Line > 1 && oe.Line < 100
			}},
		{name: "unsorted trace, rules given", opts: ReplayOptions{Open: replayFile(dir, "unsorted.jsonl"), Rules: limiter.DefaultRules()},
			check: func(err error) bool { var oe *trace.OrderError; return errors.As(err, &oe) }},
		{name: "rules file that is not one", opts: ReplayOptions{Open: replayFile(dir, "sorted.jsonl"), RulesFile: filepath.Join(dir, "shadow")},
			want: "shadow:1: not a limiter rules file", quote: "SECRETHASH"},
		{name: "rules alias bomb", opts: ReplayOptions{Open: replayFile(dir, "sorted.jsonl"), RulesFile: filepath.Join(dir, "bomb.yaml")},
			want: "YAML aliases expand the file to more than"},
		{name: "memory limit", opts: ReplayOptions{Open: replayFile(dir, "sorted.jsonl"), Options: Options{Limits: Limits{MaxMemory: 64 << 10}}},
			check: func(err error) bool {
				var le *LimitError
				return errors.As(err, &le) && le.Running && le.Resource == "memory"
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Name = c.name
			var err error
			alloc := memtest.Allocated(func() { _, err = Replay(context.Background(), tollgateOnly, c.opts) })
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) || (c.check != nil && !c.check(err)) {
				t.Fatalf("error %q, want it to contain %q", err, c.want)
			}
			if c.quote != "" && strings.Contains(err.Error(), c.quote) {
				t.Fatalf("the error quotes the file: %v", err)
			}
			if alloc > 256<<20 {
				t.Fatalf("allocated %d MiB", alloc>>20)
			}
			t.Logf("%v (%d MiB allocated)", err, alloc>>20)
		})
	}
}

// A trace slightly out of order (a log of several writers) replays and fits exactly as the
// same trace sorted.
func TestReplayAndFitSortSlightDisorder(t *testing.T) {
	sorted := tracetest.Steady(3000)
	jig := tracetest.Jiggled(sorted, 2*time.Second, 3)
	byTime := append([]time.Time(nil), jig...)
	for i := 1; i < len(byTime); i++ { // insertion sort: stable, as InOrder is
		for j := i; j > 0 && byTime[j].Before(byTime[j-1]); j-- {
			byTime[j], byTime[j-1] = byTime[j-1], byTime[j]
		}
	}
	dir := writeFiles(t, map[string]string{"jiggled.jsonl": tracetest.Lines(jig), "sorted.jsonl": tracetest.Lines(byTime)})
	inOrder := func(name string) (string, []Fit) {
		strategies, _ := ParseStrategies("tollgate,sdk-standard", StrategyOptions{})
		c, err := Replay(context.Background(), strategies, ReplayOptions{Name: "t", Open: replayFile(dir, name)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		src, _ := replayFile(dir, name)()
		fits, _, err := FitContext(context.Background(), src, FitOptions{})
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(c)
		return string(j), fits
	}
	a, fa := inOrder("jiggled.jsonl")
	b, fb := inOrder("sorted.jsonl")
	if a != b || fmt.Sprint(fa) != fmt.Sprint(fb) {
		t.Fatalf("a slightly unsorted trace gives other results than sorted:\n%s\n%v\n%s\n%v", a, fa, b, fb)
	}
}

// Fit refuses an unsorted trace rather than fitting nonsense (issue 15: "saturated -40519.3s",
// "no API was ever throttled" with 4,062 throttles).
func TestFitHostileInput(t *testing.T) {
	sorted := tracetest.Steady(20000)
	dir := writeFiles(t, map[string]string{"unsorted.jsonl": tracetest.Lines(tracetest.Shuffled(sorted, 7)), "sorted.jsonl": tracetest.Lines(sorted)})
	src, _ := replayFile(dir, "unsorted.jsonl")()
	_, _, err := FitSource(src, FitOptions{})
	var oe *trace.OrderError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "unsorted.jsonl:") || !strings.Contains(err.Error(), `field "time"`) {
		t.Fatalf("fit of an unsorted trace: %v", err)
	}
	src, _ = replayFile(dir, "sorted.jsonl")()
	fits, _, err := FitSource(src, FitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fits {
		if f.SaturatedS < 0 || !f.Saturated || f.Throttled != 4000 {
			t.Fatalf("fit %+v", f)
		}
	}
}

// rulesBomb is a limiter rules file whose aliases expand to billions of nodes.
func rulesBomb() string {
	var b strings.Builder
	b.WriteString("rules: []\nx0: &x0 [a, a, a, a, a, a, a, a, a, a]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "x%d: &x%d [*x%d, *x%d, *x%d, *x%d, *x%d, *x%d, *x%d, *x%d, *x%d, *x%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}

// scenarioBomb builds a scenario whose groups, operations and prefixes are aliases of aliases:
// groups × operations × prefixes variants.
func scenarioBomb(groups, ops, prefixes int) string {
	var b strings.Builder
	b.WriteString("name: bomb\nduration: 1s\ngroups:\n  - &g\n    name: g\n    loop: open\n    rate: 1\n    operations: &ops\n")
	b.WriteString("      - &op {service: S3, operation: GetObject, resource: b, prefixes: [")
	for i := 0; i < prefixes; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "p%d/", i)
	}
	b.WriteString("]}\n")
	for i := 1; i < ops; i++ {
		b.WriteString("      - *op\n")
	}
	for i := 1; i < groups; i++ {
		b.WriteString("  - *g\n")
	}
	return b.String()
}

// billionLaughs is a scenario with a field holding lists of aliases of lists, depth deep.
func billionLaughs(width, depth int) string {
	var b strings.Builder
	b.WriteString("duration: 1s\ndescription: &l0 lol\nstrategies: [tollgate]\nname: &n0 [*l0")
	for i := 1; i < width; i++ {
		b.WriteString(", *l0")
	}
	b.WriteString("]\n")
	for d := 1; d <= depth; d++ {
		fmt.Fprintf(&b, "x%d: &n%d [", d, d)
		for i := 0; i < width; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*n%d", d-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

const group = "groups:\n  - name: g\n    loop: open\n    rate: %s\n    operations:\n      - {service: EC2, operation: DescribeInstances}\n"

func TestScenarioHostileInput(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"slow-1e-9.yaml": fmt.Sprintf(slowRules, "1e-9"),
		"slow-1e-6.yaml": fmt.Sprintf(slowRules, "1e-6"),
		"shadow":         "root:$6$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
		"my.cnf":         "[client]\npassword = SECRETPW\n",
		"keys.yaml":      "aws_secret_access_key: SECRETKEY\n",
		"bomb.yaml":      rulesBomb(),
	})
	base := "name: s\nduration: 10s\n" + fmt.Sprintf(group, "10")
	cases := []struct {
		name, yaml string
		want       string // ParseScenario's (or, with run, Simulate's) error contains it
		quote      string // and does not contain it
		run        bool   // the error comes from Simulate, after parsing
		maxAlloc   uint64
		check      func(error) bool
	}{
		{name: "server rate 1e-9", yaml: base + "server:\n  rules: slow-1e-9.yaml\n", want: `slow-1e-9.yaml:5: server rules: rule "slow": field "rate": 1e-09 per second`,
			check: func(err error) bool { var re *RuleError; return errors.As(err, &re) }},
		{name: "tollgate rate 1e-6", yaml: base + "tollgate:\n  rules: slow-1e-6.yaml\n", want: `slow-1e-6.yaml:5: tollgate rules: rule "slow": field "rate"`},
		{name: "max_call_duration lets a slow rule run", yaml: base + "max_call_duration: 300h\nserver:\n  rules: slow-1e-6.yaml\n", run: true},
		{name: "duration of 200 years", yaml: strings.Replace(base, "10s", "1752000h", 1), want: "span at most"},
		{name: "jitter of 100 years", yaml: strings.Replace(base, "    rate: 10\n", "    rate: 10\n    jitter: 876000h\n", 1), want: "jitter must be in [0, 1h0m0s]"},
		{name: "group rate 1e-9", yaml: "name: s\nduration: 10s\n" + fmt.Sprintf(group, "1e-9"), run: true},
		{name: "capacity rate 1e-9", yaml: base + "server:\n  capacity:\n    - {service: EC2, operation: DescribeInstances, region: us-east-1, start: 0s, rate: 1e-9, burst: 1}\n", run: true},
		{name: "rate 1e9 for an hour", yaml: "name: s\nduration: 1h\n" + fmt.Sprintf(group, "1e9"), run: true, want: "would need about 1.15e+14 of calls + attempts",
			check: func(err error) bool {
				var le *LimitError
				return errors.As(err, &le) && !le.Running && le.Resource == "work"
			}},
		{name: "a million tollgate processes", yaml: strings.Replace(base, "    rate: 10\n", "    rate: 10\n    processes: 1000000\n", 1) + "strategies: [tollgate]\n",
			run: true, want: "GiB of memory", check: func(err error) bool { var le *LimitError; return errors.As(err, &le) && le.Resource == "memory" }},
		{name: "a billion workers", yaml: "name: s\nduration: 1s\ngroups:\n  - {name: g, loop: closed, workers: 1000000000, operations: [{service: EC2, operation: DescribeInstances}]}\n",
			run: true, want: "limit"},
		{name: "alias bomb: groups × operations × prefixes", yaml: scenarioBomb(100, 20, 100), want: "YAML aliases expand the scenario to more than 100000 nodes", maxAlloc: 32 << 20},
		{name: "alias bomb: 300 groups × 30 operations × 200 prefixes", yaml: scenarioBomb(300, 30, 200), want: "YAML aliases expand the scenario to more than 100000 nodes", maxAlloc: 32 << 20},
		{name: "billion laughs", yaml: billionLaughs(100, 9), want: "YAML aliases expand the scenario", maxAlloc: 32 << 20},
		{name: "aliases just within the bound run", yaml: scenarioBomb(10, 10, 300), run: true, maxAlloc: 1 << 30},
		{name: "server rules file that is a password file", yaml: base + "server:\n  rules: shadow\n", want: "shadow:1: not a limiter rules file", quote: "SECRETHASH"},
		{name: "faults file that is a password file", yaml: base + "server:\n  faults: shadow\n", want: "shadow:1: not a faults file", quote: "SECRETHASH"},
		{name: "tollgate rules file that is an ini file", yaml: base + "tollgate:\n  rules: my.cnf\n", want: "my.cnf", quote: "SECRETPW"},
		{name: "rules file with secrets as keys", yaml: base + "server:\n  rules: keys.yaml\n", want: "not a limiter rules file", quote: "SECRETKEY"},
		{name: "rules alias bomb", yaml: base + "server:\n  rules: bomb.yaml\n", want: "bomb.yaml:", maxAlloc: 32 << 20},
		{name: "scenario that is a password file", yaml: "root:$6$SECRETHASH:19000:0:99999:7:::\n", want: "s.yaml:1: not a scenario file", quote: "SECRETHASH"},
		{name: "scenario that is a key file", yaml: "aws_secret_access_key: SECRETKEY\n", want: "not a scenario file", quote: "SECRETKEY"},
		{name: "scenario that is an ini file", yaml: "[default]\naws_secret_access_key = SECRETKEY\n", want: "s.yaml", quote: "SECRETKEY"},
		{name: "rules file that is a device", yaml: base + "server:\n  rules: /dev/zero\n", want: "/dev/zero: not a regular file"},
		{name: "faults file that is a directory", yaml: base + "server:\n  faults: .\n", want: "not a regular file"},
		{name: "scenario too large", yaml: base + "description: " + strings.Repeat("x", MaxScenarioBytes) + "\n", want: "larger than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			maxAlloc := c.maxAlloc
			if maxAlloc == 0 {
				maxAlloc = 64 << 20
			}
			alloc := memtest.Allocated(func() {
				var s *Scenario
				s, err = ParseScenario("s.yaml", []byte(c.yaml), dir)
				if err == nil && c.run {
					_, err = Simulate(context.Background(), s, Options{Parallelism: 2})
				}
			})
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			case c.check != nil && !c.check(err):
				t.Fatalf("error %v is not of the expected type", err)
			case c.quote != "" && strings.Contains(err.Error(), c.quote):
				t.Fatalf("the error quotes the file: %v", err)
			}
			var se *ScenarioError
			if err != nil && !c.run && !errors.As(err, &se) {
				t.Fatalf("%v is not a *ScenarioError", err)
			}
			if alloc > maxAlloc {
				t.Fatalf("allocated %d MiB, more than %d MiB", alloc>>20, maxAlloc>>20)
			}
			t.Logf("%d bytes, %.1f MiB allocated: %v", len(c.yaml), float64(alloc)/(1<<20), err)
		})
	}
}

// A call never lasts longer than MaxCallDuration: with a limiter that makes calls wait longer
// (but refills a token within it), they time out then, and virtual time stays bounded.
func TestMaxCallDurationEndsWaits(t *testing.T) {
	slow := limiter.Rules{{Name: "slow", Service: "EC2", Operation: "DescribeInstances", Rate: 1.0 / 50, Burst: 1}}
	s := &Scenario{Name: "waits", Duration: 10 * time.Second, Seed: 1, Runs: 1, Strategies: []string{"tollgate"},
		MaxCallDuration: time.Minute, TollgateRules: slow,
		Server: ServerSpec{Rules: slow},
		Groups: []Group{{Name: "g", Loop: OpenLoop, Rate: 10, Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances"}}}}}
	c, err := Simulate(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := c.Strategies[0].Summary
	if sum.TimedOut == 0 || sum.CompletionS > 10+60+1 {
		t.Fatalf("timed out %d, done at %gs: want calls to time out at a minute", sum.TimedOut, sum.CompletionS)
	}
}

// refuseAll is a strategy whose client refuses every call before its first attempt: with no
// think time, a closed-loop worker starts calls as fast as the engine lets it.
type refuseAll struct{ SDKStandard }

func (refuseAll) Name() string { return "refuse-all" }
func (refuseAll) NewClient(env ClientEnv) Client {
	return refusingClient{Client: (&SDKStandard{}).NewClient(env)}
}

type refusingClient struct{ Client }

func (refusingClient) Admit(now time.Time, c *Call) Admission {
	return Admission{Refused: true, Reason: "test"}
}

// waitLong is a strategy whose client makes every attempt wait 50 minutes for admission: calls
// pile up far beyond what the estimate (attempts and backoffs) foresees.
type waitLong struct{ SDKStandard }

func (waitLong) Name() string { return "wait-long" }
func (waitLong) NewClient(env ClientEnv) Client {
	return &waitingClient{Client: (&SDKStandard{}).NewClient(env)}
}

type waitingClient struct{ Client }

func (w *waitingClient) Admit(now time.Time, c *Call) Admission {
	if !c.Held {
		c.Held = true
		return Admission{Wait: 50 * time.Minute}
	}
	return w.Client.Admit(now, c)
}

// Runs that do more than their estimate stop with a *LimitError when they reach a limit:
// work (a worker whose calls end at once cannot spin: it calls again a millisecond later, and
// the work is counted) and memory (calls in flight).
func TestLimitsWhileRunning(t *testing.T) {
	work := &Scenario{Name: "spin", Duration: 10 * time.Second, Seed: 1, Runs: 1,
		Groups: []Group{{Name: "g", Loop: ClosedLoop, Workers: 16, Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances"}}}}}
	est, err := Estimate(work, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The estimate is for every strategy; this runs one.
	_, err = SimulateStrategies(context.Background(), work, []Strategy{refuseAll{}}, Options{Limits: Limits{MaxWork: int64(est.Work / float64(est.Runs) * 2)}})
	var le *LimitError
	if !errors.As(err, &le) || !le.Running || le.Resource != "work" {
		t.Fatalf("a spinning worker: %v, want a work *LimitError while running", err)
	}
	mem := &Scenario{Name: "pile", Duration: 5 * time.Minute, Seed: 1, Runs: 1,
		Groups: []Group{{Name: "g", Loop: OpenLoop, Rate: 100, Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances"}}}}}
	est, err = Estimate(mem, Options{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	limit := int64(est.Memory * 2)
	_, err = SimulateStrategies(context.Background(), mem, []Strategy{waitLong{}}, Options{Parallelism: 1, Limits: Limits{MaxMemory: limit}})
	if !errors.As(err, &le) || !le.Running || le.Resource != "memory" {
		t.Fatalf("calls piling up: %v, want a memory *LimitError while running", err)
	}
	t.Logf("estimated %.1f MiB, stopped at %.1f MiB: %v", est.Memory/(1<<20), le.Need/(1<<20), err)
	// Without the limit the same run completes: the guard, not the run, stopped it.
	if _, err := SimulateStrategies(context.Background(), mem, []Strategy{waitLong{}}, Options{Parallelism: 1}); err != nil {
		t.Fatal(err)
	}
}

// The memory estimate of a client process covers what each strategy's process holds
// (measured with runtime/metrics) without overstating it more than fourfold.
func TestProcessBytesCoverStrategies(t *testing.T) {
	for _, rules := range []limiter.Rules{limiter.DefaultRules(), limiter.DefaultRules()[:1]} {
		for _, name := range StrategyNames() {
			st, err := NewStrategy(name, StrategyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			e := &engine{free: -1, strategy: st, rules: rules, seed: 1}
			const n = 500
			before := memtest.Live()
			for i := 0; i < n; i++ {
				e.newProcess("p", 0)
			}
			per := float64(memtest.Live()-before) / n
			est := float64(processBytes(st, rules))
			if per > est || (per > 1024 && est > 4*per) {
				t.Errorf("%s with %d rules: a process holds %.0f bytes, estimated %.0f", name, len(rules), per, est)
			}
			if len(e.procs) != n {
				t.Fatal("processes lost")
			}
		}
	}
}

// countingCtx is a context whose Err turns to context.Canceled after it was asked limit times:
// a test can stop a loop deep inside it without timing, and see how soon it stopped.
type countingCtx struct {
	context.Context
	asked, limit atomic.Int64
}

func newCountingCtx(limit int64) *countingCtx {
	c := &countingCtx{Context: context.Background()}
	c.limit.Store(limit)
	return c
}

func (c *countingCtx) Err() error {
	if c.asked.Add(1) > c.limit.Load() {
		return context.Canceled
	}
	return nil
}

// Every long loop honours its context: the engine (open loops of any rate), Brooker (inside a
// run of a hundred million clients' worth of events), the replay and the fit of a trace
// that never ends. Each returns ctx's error, and the engine stops within one check interval
// (65,536 events) of the cancellation.
func TestLongLoopsHonourTheContext(t *testing.T) {
	t.Run("engine", func(t *testing.T) {
		s := &Scenario{Name: "busy", Duration: time.Hour, Seed: 1, Runs: 1, Strategies: []string{"no-retry"},
			Groups: []Group{{Name: "g", Loop: OpenLoop, Rate: 2e4, Operations: []Operation{{Service: "EC2", Operation: "DescribeInstances"}}}}}
		ctx, cancel := context.WithCancel(context.Background())
		var events, atCancel atomic.Int64
		obs := event.ObserverFunc(func(event.Event) {
			if events.Add(1) == 20_000 {
				atCancel.Store(events.Load())
				cancel()
			}
		})
		_, err := Simulate(ctx, s, Options{Parallelism: 1, Observer: obs})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
		if after := events.Load() - atCancel.Load(); after > 4*65536 {
			t.Fatalf("%d events after the cancellation", after)
		}
	})
	t.Run("brooker", func(t *testing.T) {
		// Asked once by the runner, once before the run, then every 65,536 clients set up: it
		// is cancelled while the first run of a million clients is being set up.
		ctx := newCountingCtx(4)
		_, err := Brooker(ctx, BrookerConfig{Clients: []int{1_000_000}, Runs: 1000}, Options{Parallelism: 1})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
	endless := func() (trace.Source, error) { return &endlessTrace{}, nil }
	t.Run("replay", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		src := &endlessTrace{onRead: func(n int) {
			if n == 30_000 {
				cancel()
			}
		}}
		strategies, _ := ParseStrategies("no-retry", StrategyOptions{})
		_, err := Replay(ctx, strategies, ReplayOptions{Rules: limiter.DefaultRules(), Open: func() (trace.Source, error) { return src, nil }})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("fit", func(t *testing.T) {
		src, _ := endless()
		_, _, err := FitContext(newCountingCtx(5), src, FitOptions{})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
}

// endlessTrace is a trace that never ends: DescribeInstances every millisecond.
type endlessTrace struct {
	n      int
	onRead func(n int)
}

func (s *endlessTrace) Read(rec *trace.Record) error {
	s.n++
	if s.onRead != nil {
		s.onRead(s.n)
	}
	*rec = trace.Record{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(s.n) * time.Millisecond),
		Service: "EC2", Operation: "DescribeInstances", Region: "us-east-1", Outcome: trace.OutcomeSuccess}
	return nil
}

var _ io.Reader = (*bytes.Buffer)(nil)

// Brooker refuses, before it allocates anything, a client count whose runs would not fit in
// memory (issue 15: --clients 100000000 ran 11 minutes to 10 GB), and bad client counts.
func TestBrookerHostileInput(t *testing.T) {
	cases := []struct {
		name    string
		clients []int
		want    string
		check   func(error) bool
	}{
		{"a hundred million clients", []int{10, 100_000_000}, "GiB of memory",
			func(err error) bool {
				var le *LimitError
				return errors.As(err, &le) && le.Resource == "memory" && !le.Running
			}},
		{"no clients", []int{0}, "client counts must be in [1, 2147483647], not 0", nil},
		{"negative clients", []int{-5}, "not -5", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			alloc := memtest.Allocated(func() { _, err = Brooker(context.Background(), BrookerConfig{Clients: c.clients, Runs: 1}, Options{}) })
			if err == nil || !strings.Contains(err.Error(), c.want) || (c.check != nil && !c.check(err)) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if alloc > 1<<20 {
				t.Fatalf("allocated %d KiB before refusing", alloc>>10)
			}
			t.Log(err)
		})
	}
}
