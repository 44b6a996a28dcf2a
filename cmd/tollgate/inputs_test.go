package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/tracetest"
)

// The inputs of issue 15 ("Hostile and careless input"), per command, with the cases added
// since: every numeric flag outside its range is a usage error naming the range (exit 2);
// inputs with nothing usable exit 3; runs over a work or memory limit are refused (exit 4)
// with the flag that raises it; broken inputs exit 1 naming file, line and field, without
// quoting a file named by mistake; where memory was the issue, the built program's peak RSS
// is bounded.

func TestSimulateInputs(t *testing.T) {
	dir := tracetest.WriteFiles(t, t.TempDir(), map[string]string{
		"slow-1e-9.yaml":  fmt.Sprintf(slowRules, "1e-9"),
		"slow-1e-6.yaml":  fmt.Sprintf(slowRules, "1e-6"),
		"shadow":          shadowFile,
		"my.ini":          iniFile,
		"bomb-rules.yaml": rulesBomb(),
	})
	scenario := func(name, yaml string) string {
		tracetest.WriteFiles(t, dir, map[string]string{name: yaml})
		return filepath.Join(dir, name)
	}
	base := "name: s\nduration: 10s\n" + fmt.Sprintf(openLoopGroup, "10")
	bomb17, bomb39, laughs := scenarioBomb(100, 20, 100), scenarioBomb(300, 30, 200), billionLaughs(100, 9)
	hour1e9 := scenario("rate-1e9.yaml", "name: s\nduration: 1h\n"+fmt.Sprintf(openLoopGroup, "1e9"))
	runCases(t, []cliCase{
		// Usage errors.
		{Name: "no such command", Args: []string{"simulat"}, Code: 2, Stderr: []string{`unknown command "simulat"`, `did you mean "simulate"?`, "tollgate --help"}},
		{Name: "moved to tollgate-live", Args: []string{"load", "--rate", "10"}, Code: 2, Stderr: []string{"tollgate-live", "go run ./cmd/tollgate-live load"}},
		{Name: "calibrate is in tollgate-live", Args: []string{"calibrate", "x.yaml"}, Code: 2, Stderr: []string{"tollgate-live", "go run ./cmd/tollgate-live calibrate"}},
		{Name: "unknown flag", Args: []string{"simulate", "--nope"}, Code: 2, Stderr: []string{"tollgate simulate: unknown flag: --nope", "Run 'tollgate simulate --help'"}},
		{Name: "format", Args: []string{"simulate", "--format", "xml"}, Code: 2, Stderr: []string{`"--format" flag: want one of table, json, markdown`}},
		{Name: "strategy", Args: []string{"simulate", "--strategies", "magic"}, Code: 2, Stderr: []string{"--strategies"}},
		{Name: "two scenarios", Args: []string{"simulate", "a.yaml", "b.yaml"}, Code: 2, Stderr: []string{"want at most one SCENARIO, got 2"}},
		{Name: "runs -1", Args: []string{"simulate", "--runs", "-1"}, Code: 2, Stderr: []string{`"--runs" flag: want >= 0`}},
		{Name: "parallel -1", Args: []string{"simulate", "--parallel", "-1"}, Code: 2, Stderr: []string{`"--parallel" flag: want >= 0`}},
		{Name: "max-work -2", Args: []string{"simulate", "--max-work", "-2"}, Code: 2, Stderr: []string{`"--max-work" flag: want >= -1`}},
		{Name: "max-work 1.5", Args: []string{"simulate", "--max-work", "1.5"}, Code: 2, Stderr: []string{`"--max-work" flag: want a whole number`}},
		{Name: "max-memory lots", Args: []string{"simulate", "--max-memory", "lots"}, Code: 2, Stderr: []string{`"--max-memory" flag: want a size such as 512MiB`}},
		// Files that are not scenarios: refused before being read, never quoted.
		{Name: "field of a bad scenario", Args: []string{"simulate", scenario("bad.yaml", "name: x\nduration: soon\n")}, Code: 1,
			Stderr: []string{"tollgate simulate: " + filepath.Join(dir, "bad.yaml") + `:2: field "duration"`}},
		{Name: "a device", Args: []string{"simulate", "/dev/zero"}, Code: 1, Stderr: []string{"read scenario: /dev/zero: not a regular file"}},
		{Name: "a directory", Args: []string{"simulate", dir}, Code: 1, Stderr: []string{dir + ": not a regular file"}},
		{Name: "larger than 1 MiB", Args: []string{"simulate", scenario("big.yaml", base+"description: "+strings.Repeat("x", 1<<20)+"\n")}, Code: 1,
			Stderr: []string{"big.yaml: larger than 1048576 bytes: not a scenario file"}},
		{Name: "a password file", Args: []string{"simulate", filepath.Join(dir, "shadow")}, Code: 1, Stderr: []string{"shadow:1: not a scenario file"}, Secret: "SECRETHASH"},
		{Name: "an ini file", Args: []string{"simulate", filepath.Join(dir, "my.ini")}, Code: 1, Stderr: []string{"my.ini"}, Secret: "SECRETKEY"},
		{Name: "server rules that are a password file", Args: []string{"simulate", scenario("r-shadow.yaml", base+"server:\n  rules: shadow\n")}, Code: 1,
			Stderr: []string{"shadow:1: not a limiter rules file"}, Secret: "SECRETHASH"},
		{Name: "faults that are a password file", Args: []string{"simulate", scenario("f-shadow.yaml", base+"server:\n  faults: shadow\n")}, Code: 1,
			Stderr: []string{"shadow:1: not a faults file"}, Secret: "SECRETHASH"},
		{Name: "tollgate rules that are an ini file", Args: []string{"simulate", scenario("t-ini.yaml", base+"tollgate:\n  rules: my.ini\n")}, Code: 1,
			Stderr: []string{"my.ini"}, Secret: "SECRETKEY"},
		{Name: "rules that are a device", Args: []string{"simulate", scenario("r-dev.yaml", base+"server:\n  rules: /dev/zero\n")}, Code: 1,
			Stderr: []string{"/dev/zero: not a regular file"}},
		{Name: "rules alias bomb", Args: []string{"simulate", scenario("r-bomb.yaml", base+"server:\n  rules: bomb-rules.yaml\n")}, Code: 1,
			Stderr: []string{"bomb-rules.yaml:", "YAML aliases expand the file"}, MaxRSS: 64 << 20},
		// Virtual time that would overflow (a panic before): refused at the rule's file:line:field.
		{Name: "server rate 1e-9", Args: []string{"simulate", scenario("server-slow.yaml", base+"server:\n  rules: slow-1e-9.yaml\n")}, Code: 1,
			Stderr: []string{`slow-1e-9.yaml:5: server rules: rule "slow": field "rate": 1e-09 per second`}},
		{Name: "tollgate rate 1e-6", Args: []string{"simulate", scenario("tg-slow.yaml", base+"tollgate:\n  rules: slow-1e-6.yaml\n")}, Code: 1,
			Stderr: []string{`slow-1e-6.yaml:5: tollgate rules: rule "slow": field "rate"`}},
		{Name: "duration of 200 years", Args: []string{"simulate", scenario("long.yaml", strings.Replace(base, "10s", "1752000h", 1))}, Code: 1,
			Stderr: []string{"span at most"}},
		// Work and memory (issue: 1.7 KB took 562 MB, 3.9 KB 5.1 GB, 17 KB died out of memory;
		// rate 1e9 for 1 h ran out of memory after 68 s).
		{Name: "alias bomb of " + kib(bomb17), Args: []string{"simulate", scenario("bomb17.yaml", bomb17)}, Code: 1,
			Stderr: []string{"bomb17.yaml:", "YAML aliases expand the scenario to more than 100000 nodes"}, MaxRSS: 64 << 20},
		{Name: "alias bomb of " + kib(bomb39), Args: []string{"simulate", scenario("bomb39.yaml", bomb39)}, Code: 1,
			Stderr: []string{"YAML aliases expand the scenario to more than 100000 nodes"}, MaxRSS: 64 << 20},
		{Name: "billion laughs of " + kib(laughs), Args: []string{"simulate", scenario("laughs.yaml", laughs)}, Code: 1,
			Stderr: []string{"YAML aliases expand the scenario"}, MaxRSS: 64 << 20},
		{Name: "rate 1e9 for an hour", Args: []string{"simulate", hour1e9}, Code: 4,
			Stderr: []string{`scenario "s" would need about 1.15e+14 of calls + attempts`, "more than the limit of 1e+09 (--max-work)", "raise --max-work (-1: no limit)"}, MaxRSS: 64 << 20},
		{Name: "rate 1e9 for an hour without a work limit", Args: []string{"simulate", hour1e9, "--max-work", "-1"}, Code: 4,
			Stderr: []string{"GiB of memory", "(--max-memory)"}, MaxRSS: 64 << 20},
		{Name: "a million tollgate processes", Args: []string{"simulate", scenario("procs.yaml",
			strings.Replace(base, "    rate: 10\n", "    rate: 10\n    processes: 1000000\n", 1)+"strategies: [tollgate]\n")}, Code: 4,
			Stderr: []string{"GiB of memory", "--max-memory"}, MaxRSS: 64 << 20},
		{Name: "a billion workers", Args: []string{"simulate", scenario("workers.yaml",
			"name: s\nduration: 1s\ngroups:\n  - {name: g, loop: closed, workers: 1000000000, operations: [{service: EC2, operation: DescribeInstances}]}\n")}, Code: 4,
			Stderr: []string{"more than the limit"}, MaxRSS: 64 << 20},
		{Name: "small memory limit", Args: []string{"simulate", smallScenario, "--max-memory", "1MiB"}, Code: 4,
			Stderr: []string{`scenario "small" would need about`, "more than the limit of 1 MiB (--max-memory)"}},
		{Name: "small work limit", Args: []string{"simulate", smallScenario, "--max-work", "1000"}, Code: 4,
			Stderr: []string{"more than the limit of 1e+03 (--max-work)"}},
		{Name: "estimate", Args: []string{"simulate", smallScenario, "--estimate"}, Code: 0,
			Stdout: []string{`estimate of scenario "small"`, "work (calls + attempts)", "limit 1e+09 (--max-work)", "within the limits: the run would start"}},
		{Name: "estimate over the limit", Args: []string{"simulate", hour1e9, "--estimate", "--format", "json"}, Code: 4,
			Stdout: []string{`"work": 115200000000000`, `"refused": "work"`}, Stderr: []string{"(--max-work)"}},
	})
}

func TestReplayInputs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	writeBucketTrace(t, good, 10, 50)
	sorted := tracetest.Steady(20000)
	tracetest.WriteFiles(t, dir, map[string]string{
		"two-centuries.jsonl": tracetest.Lines([]time.Time{time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}),
		"unsorted.jsonl":      tracetest.Lines(tracetest.Shuffled(sorted, 7)),
		"jiggled.jsonl":       tracetest.Lines(tracetest.Jiggled(sorted, 2*time.Second, 3)),
		"zero-time.jsonl":     `{"time":"0001-01-01T00:00:00Z","service":"EC2","operation":"DescribeInstances","outcome":"success"}` + "\n",
		"slow-1e-6.yaml":      fmt.Sprintf(slowRules, "1e-6"),
		"slow-1e-9.yaml":      fmt.Sprintf(slowRules, "1e-9"),
		"bad-rules.yaml":      "rules:\n  - name: x\n    service: EC2\n    rate: 0\n    burst: 1\n",
		"ok-rules.yaml":       fmt.Sprintf(slowRules, "10"),
		"shadow":              shadowFile,
		"bomb.yaml":           rulesBomb(),
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	runCases(t, []cliCase{
		// Usage errors (issue: --rtt -1s was silently 20 ms; --timeout -1s, --parallel -1 accepted).
		{Name: "rtt -1s", Args: []string{"replay", good, "--rtt", "-1s"}, Code: 2, Stderr: []string{`invalid argument "-1s" for "--rtt" flag: want > 0s`}},
		{Name: "rtt 0", Args: []string{"replay", good, "--rtt", "0s"}, Code: 2, Stderr: []string{`"--rtt" flag: want > 0s`}},
		{Name: "timeout -1s", Args: []string{"replay", good, "--timeout", "-1s"}, Code: 2, Stderr: []string{`"--timeout" flag: want >= 0s`}},
		{Name: "parallel -1", Args: []string{"replay", good, "--parallel", "-1"}, Code: 2, Stderr: []string{`"--parallel" flag: want >= 0`}},
		{Name: "input format", Args: []string{"replay", good, "--input-format", "xml"}, Code: 2, Stderr: []string{`"--input-format" flag: want one of auto, jsonl`}},
		{Name: "max-call-duration 0", Args: []string{"replay", good, "--max-call-duration", "0s"}, Code: 2, Stderr: []string{`"--max-call-duration" flag: want 1ms to 438000h0m0s`}},
		{Name: "rtt over max-call-duration", Args: []string{"replay", good, "--rtt", "2s", "--max-call-duration", "1s"}, Code: 2,
			Stderr: []string{"--rtt (2s) must not exceed --max-call-duration (1s)"}},
		{Name: "order-window 0", Args: []string{"replay", good, "--order-window", "0s"}, Code: 2, Stderr: []string{`"--order-window" flag: want > 0s`}},
		{Name: "order-buffer 0", Args: []string{"replay", good, "--order-buffer", "0"}, Code: 2, Stderr: []string{`"--order-buffer" flag: want 1 to 1048576`}},
		{Name: "max-memory lots", Args: []string{"replay", good, "--max-memory", "lots"}, Code: 2, Stderr: []string{`"--max-memory" flag: want a size`}},
		{Name: "no trace", Args: []string{"replay"}, Code: 2, Stderr: []string{"want exactly one TRACE, got 0"}},
		{Name: "standard input", Args: []string{"replay", "-"}, Code: 2, Stderr: []string{"give a file, not - (standard input)"}},
		// Nothing usable (issue: exit 0 with 0 requests).
		{Name: "wrong input format", Args: []string{"replay", good, "--input-format", "csv"}, Code: 3, Stderr: []string{"no usable request in " + good, "--input-format auto"}},
		{Name: "only a zero time", Args: []string{"replay", f("zero-time.jsonl")}, Code: 3, Stderr: []string{"no usable request", "1 records skipped"}},
		{Name: "a device", Args: []string{"replay", "/dev/zero", "--input-format", "jsonl"}, Code: 3, Stderr: []string{"no usable request in /dev/zero"}},
		// Virtual time that would overflow (issue: panics).
		{Name: "times 325 years apart", Args: []string{"replay", f("two-centuries.jsonl")}, Code: 1,
			Stderr: []string{`two-centuries.jsonl:2: field "time": 2025-01-01T00:00:00Z is 325 years after the trace's first record`}},
		{Name: "rules rate 1e-6 given to tollgate", Args: []string{"replay", good, "--strategies", "tollgate", "--rules", f("slow-1e-6.yaml")}, Code: 1,
			Stderr: []string{`slow-1e-6.yaml:5: replay rules: rule "slow": field "rate": 1e-06 per second refills 1 token(s) every 11.6 days`}},
		{Name: "tollgate rules rate 1e-9", Args: []string{"replay", good, "--tollgate-rules", f("slow-1e-9.yaml")}, Code: 1,
			Stderr: []string{`slow-1e-9.yaml:5: tollgate rules: rule "slow": field "rate"`}},
		// Silently wrong results (issue: 162 successes of 20,000 and "capacity 0.0/s", exit 0).
		{Name: "unsorted trace", Args: []string{"replay", f("unsorted.jsonl")}, Code: 1,
			Stderr: []string{"unsorted.jsonl:", `field "time"`, "the trace is not sorted by time", "tollgate import"}},
		{Name: "unsorted trace with rules", Args: []string{"replay", f("unsorted.jsonl"), "--rules", f("ok-rules.yaml"), "--strategies", "no-retry"}, Code: 1,
			Stderr: []string{"unsorted.jsonl:", "not sorted by time"}},
		{Name: "a trace a little out of order", Args: []string{"replay", f("jiggled.jsonl"), "--strategies", "no-retry"}, Code: 0, Stdout: []string{"no-retry"}},
		{Name: "out of order beyond --order-window", Args: []string{"replay", f("jiggled.jsonl"), "--strategies", "no-retry", "--order-window", "1s"}, Code: 1,
			Stderr: []string{"jiggled.jsonl:", "not sorted by time"}},
		// Rules files named by mistake.
		{Name: "bad rules field", Args: []string{"replay", good, "--rules", f("bad-rules.yaml")}, Code: 1, Stderr: []string{f("bad-rules.yaml") + `:4: rule "x": field "rate"`}},
		{Name: "rules that are a device", Args: []string{"replay", good, "--rules", "/dev/zero"}, Code: 1, Stderr: []string{"/dev/zero: not a regular file"}},
		{Name: "rules that are a password file", Args: []string{"replay", good, "--rules", f("shadow")}, Code: 1,
			Stderr: []string{"shadow:1: not a limiter rules file"}, Secret: "SECRETHASH"},
		{Name: "rules alias bomb", Args: []string{"replay", good, "--tollgate-rules", f("bomb.yaml")}, Code: 1,
			Stderr: []string{"bomb.yaml:", "YAML aliases expand the file to more than"}, MaxRSS: 64 << 20},
		{Name: "missing trace", Args: []string{"replay", f("missing.jsonl")}, Code: 1, Stderr: []string{"missing.jsonl: no such file"}},
		// Memory.
		{Name: "memory limit", Args: []string{"replay", good, "--max-memory", "64KiB", "--strategies", "tollgate"}, Code: 4,
			Stderr: []string{"replay stopped after reaching", "more than the limit of 64 KiB (--max-memory)"}},
	})
}

func TestImportInputs(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "trace.jsonl")
	writeBucketTrace(t, tr, 10, 50)
	ok := `{"time":"2025-01-01T00:00:00Z","service":"EC2","operation":"DescribeInstances","outcome":"success"}` + "\n"
	ct := `{"eventTime":"2025-03-14T09:26:53Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity"}`
	tracetest.WriteFiles(t, dir, map[string]string{
		"junk.log":        "this is not a log line\nnor is this\n",
		"zero-time.jsonl": ok + `{"time":"0001-01-01T00:00:00Z","service":"EC2","operation":"DescribeInstances","outcome":"success"}` + "\n",
		"only-zero.csv":   "time,service,operation,outcome\n0001-01-01T00:00:00Z,EC2,DescribeInstances,success\n",
		"cloudtrail.json": `{"Records":[` + ct + "," + strings.Replace(ct, "2025-03-14T09:26:53Z", "yesterday", 1) + "," + ct + "]}",
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	out := filepath.Join(dir, "o1")
	os.MkdirAll(out, 0o755)
	inOut := filepath.Join(out, "trace.jsonl")
	os.WriteFile(inOut, mustRead(t, tr), 0o644)
	runCases(t, []cliCase{
		{Name: "no input", Args: []string{"import"}, Code: 2, Stderr: []string{"want at least one INPUT"}},
		{Name: "out and output", Args: []string{"import", tr, "--out", dir, "--output", "x"}, Code: 2, Stderr: []string{"give --out or --output, not both"}},
		// Data loss (issue: the input became 0 bytes, exit 0).
		{Name: "output over its input", Args: []string{"import", "--output", tr, tr}, Code: 2, Stderr: []string{"refusing to write over input " + tr}},
		{Name: "out over its input", Args: []string{"import", "--out", out, inOut}, Code: 2, Stderr: []string{"refusing to write over input " + inOut}},
		// Nothing usable (issue: exit 0, "0 records written from 0 files").
		{Name: "junk", Args: []string{"import", f("junk.log")}, Code: 3, Stderr: []string{"no usable record", "unrecognized file", "junk.log:1:"}},
		{Name: "junk as S3 logs", Args: []string{"import", f("junk.log"), "--input-format", "s3-access-log"}, Code: 3, Stderr: []string{"malformed line", "junk.log:1:"}},
		{Name: "junk to a file", Args: []string{"import", f("junk.log"), "--output", f("out.jsonl")}, Code: 3, Stderr: []string{"no usable record"}},
		{Name: "a device", Args: []string{"import", "/dev/zero", "--input-format", "jsonl"}, Code: 3,
			Stderr: []string{"/dev/zero:1: line longer than 67108864 bytes and still going: rest of the file skipped"}, MaxRSS: 64 << 20},
		{Name: "a device as CSV", Args: []string{"import", "/dev/zero", "--input-format", "csv"}, Code: 3,
			Stderr: []string{"/dev/zero:1: line longer than 1048576 bytes: rest of the file skipped"}, MaxRSS: 64 << 20},
		// A zero time (issue: the import stopped, with no line number and "trace:" twice).
		{Name: "a zero time", Args: []string{"import", f("zero-time.jsonl")}, Code: 0,
			Stderr: []string{"1 records written", `bad time`, f("zero-time.jsonl") + `:2: field "time": "0001-01-01T00:00:00Z" is the zero time`}},
		{Name: "only a zero time", Args: []string{"import", f("only-zero.csv"), "--output", f("zero-out.jsonl")}, Code: 3,
			Stderr: []string{"no usable record"}, Stdout: []string{f("only-zero.csv") + `:2: field "time"`}},
		// CloudTrail (issue: every error said line 1).
		{Name: "CloudTrail on one line", Args: []string{"import", f("cloudtrail.json")}, Code: 0,
			Stderr: []string{"2 records written", f("cloudtrail.json") + `:1: record 2: field "eventTime": "yesterday" is not an RFC 3339 time`}},
	})
	for _, name := range []string{"out.jsonl", "zero-out.jsonl"} {
		if _, err := os.Stat(f(name)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a run with nothing usable (%v)", name, err)
		}
	}
}

func TestFitInputs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	writeBucketTrace(t, good, 10, 50)
	quiet := filepath.Join(dir, "quiet.jsonl")
	writeQuietTrace(t, quiet, 50)
	sorted := tracetest.Steady(20000)
	tracetest.WriteFiles(t, dir, map[string]string{
		"unsorted.jsonl": tracetest.Lines(tracetest.Shuffled(sorted, 7)),
		"junk.log":       "this is not a log line\n",
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	runCases(t, []cliCase{
		{Name: "idle-gap -1s", Args: []string{"fit", good, "--idle-gap", "-1s"}, Code: 2, Stderr: []string{`"--idle-gap" flag: want > 0s`}},
		{Name: "streak-gap 0", Args: []string{"fit", good, "--streak-gap", "0"}, Code: 2, Stderr: []string{`"--streak-gap" flag: want > 0s`}},
		{Name: "order-buffer 0", Args: []string{"fit", good, "--order-buffer", "0"}, Code: 2, Stderr: []string{`"--order-buffer" flag: want 1 to 1048576`}},
		{Name: "out and output", Args: []string{"fit", good, "--out", dir, "--output", "x"}, Code: 2, Stderr: []string{"give --out or --output, not both"}},
		{Name: "output over its input", Args: []string{"fit", good, "--output", good}, Code: 2, Stderr: []string{"refusing to write over input " + good}},
		{Name: "junk", Args: []string{"fit", f("junk.log"), "--input-format", "s3-access-log"}, Code: 3, Stderr: []string{"no usable record in " + f("junk.log")}},
		{Name: "never throttled", Args: []string{"fit", quiet, "--out", f("fit-quiet")}, Code: 3, Stderr: []string{"no API in " + quiet + " was ever throttled"}},
		// Silently wrong results (issue: "saturated -40519.3s", "no API was ever throttled"
		// with 4,062 throttles).
		{Name: "unsorted trace", Args: []string{"fit", f("unsorted.jsonl")}, Code: 1,
			Stderr: []string{"unsorted.jsonl:", `field "time"`, "not sorted by time"}},
		{Name: "a device", Args: []string{"fit", "/dev/zero", "--input-format", "jsonl"}, Code: 3, Stderr: []string{"no usable record in /dev/zero"}},
		{Name: "good", Args: []string{"fit", good}, Code: 0, Stdout: []string{"burst: 50"}},
	})
	if _, err := os.Stat(f("fit-quiet")); !os.IsNotExist(err) {
		t.Errorf("fit-quiet exists after a fit with nothing usable (%v)", err)
	}
}

func TestBrookerInputs(t *testing.T) {
	runCases(t, []cliCase{
		{Name: "parallel -1", Args: []string{"brooker", "--parallel", "-1"}, Code: 2, Stderr: []string{`"--parallel" flag: want >= 0`}},
		{Name: "runs 0", Args: []string{"brooker", "--runs", "0"}, Code: 2, Stderr: []string{`"--runs" flag: want 1 to 1000000`}},
		{Name: "clients backwards", Args: []string{"brooker", "--clients", "5..1"}, Code: 2, Stderr: []string{"--clients: want FROM..TO"}},
		{Name: "clients 0", Args: []string{"brooker", "--clients", "0"}, Code: 2, Stderr: []string{"--clients: want client counts from 1 to 2147483647"}},
		{Name: "too many client counts", Args: []string{"brooker", "--clients", "1..100000/1"}, Code: 2, Stderr: []string{"gives 100000 client counts, more than 1000"}},
		{Name: "jitter", Args: []string{"brooker", "--jitters", "wobbly"}, Code: 2, Stderr: []string{"--jitters"}},
		{Name: "max-memory -2", Args: []string{"brooker", "--max-memory", "-2"}, Code: 2, Stderr: []string{`"--max-memory" flag: want >= -1`}},
		// Issue: ran 11 minutes to 10 GB, deaf to SIGINT.
		{Name: "a hundred million clients", Args: []string{"brooker", "--clients", "100000000"}, Code: 4,
			Stderr: []string{"brooker would need about 22.5 GiB of memory (100000000 clients × 121 bytes × 2 points at once)", "(--max-memory)"}, MaxRSS: 64 << 20},
		{Name: "small memory limit", Args: []string{"brooker", "--clients", "10,40", "--max-memory", "1KiB", "--parallel", "1"}, Code: 4,
			Stderr: []string{"more than the limit of 1 KiB (--max-memory)"}},
	})
}

func TestVersionAndCompletionInputs(t *testing.T) {
	runCases(t, []cliCase{
		{Name: "version", Args: []string{"version"}, Code: 0, Stdout: []string{"tollgate ", "revision: "}},
		{Name: "version format", Args: []string{"version", "--format", "xml"}, Code: 2, Stderr: []string{`"--format" flag: want one of table, json`}},
		{Name: "version argument", Args: []string{"version", "now"}, Code: 2, Stderr: []string{`unexpected argument "now"`}},
		{Name: "completion shell", Args: []string{"completion", "tcsh"}, Code: 2, Stderr: []string{`unknown shell "tcsh"`}},
		{Name: "completion nothing", Args: []string{"completion"}, Code: 2, Stderr: []string{"want one SHELL"}},
		{Name: "completion bash", Args: []string{"completion", "bash"}, Code: 0, Stdout: []string{"__start_tollgate"}},
	})
}
