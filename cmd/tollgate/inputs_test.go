package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The inputs of issue 15 ("Hostile and careless input"), per command, with the cases added
// since: every numeric flag outside its range is a usage error naming the range (exit 2);
// inputs with nothing usable exit 3; runs over a work or memory limit are refused (exit 4)
// with the flag that raises it; broken inputs exit 1 naming file, line and field, without
// quoting a file named by mistake; where memory was the issue, the built program's peak RSS
// is bounded.

func TestSimulateInputs(t *testing.T) {
	dir := writeFiles(t, t.TempDir(), map[string]string{
		"slow-1e-9.yaml":  fmt.Sprintf(slowRules, "1e-9"),
		"slow-1e-6.yaml":  fmt.Sprintf(slowRules, "1e-6"),
		"shadow":          shadowFile,
		"my.ini":          iniFile,
		"bomb-rules.yaml": rulesBomb(),
	})
	scenario := func(name, yaml string) string {
		writeFiles(t, dir, map[string]string{name: yaml})
		return filepath.Join(dir, name)
	}
	base := "name: s\nduration: 10s\n" + fmt.Sprintf(openLoopGroup, "10")
	bomb17, bomb39, laughs := scenarioBomb(100, 20, 100), scenarioBomb(300, 30, 200), billionLaughs(100, 9)
	hour1e9 := scenario("rate-1e9.yaml", "name: s\nduration: 1h\n"+fmt.Sprintf(openLoopGroup, "1e9"))
	runCases(t, []cliCase{
		// Usage errors.
		{name: "no such command", args: []string{"simulat"}, code: 2, stderr: []string{`unknown command "simulat"`, `did you mean "simulate"?`, "tollgate --help"}},
		{name: "moved to tollgate-live", args: []string{"load", "--rate", "10"}, code: 2, stderr: []string{"tollgate-live", "go run ./cmd/tollgate-live load"}},
		{name: "unknown flag", args: []string{"simulate", "--nope"}, code: 2, stderr: []string{"tollgate simulate: unknown flag: --nope", "Run 'tollgate simulate --help'"}},
		{name: "format", args: []string{"simulate", "--format", "xml"}, code: 2, stderr: []string{`"--format" flag: want one of table, json, markdown`}},
		{name: "strategy", args: []string{"simulate", "--strategies", "magic"}, code: 2, stderr: []string{"--strategies"}},
		{name: "two scenarios", args: []string{"simulate", "a.yaml", "b.yaml"}, code: 2, stderr: []string{"want at most one SCENARIO, got 2"}},
		{name: "runs -1", args: []string{"simulate", "--runs", "-1"}, code: 2, stderr: []string{`"--runs" flag: want >= 0`}},
		{name: "parallel -1", args: []string{"simulate", "--parallel", "-1"}, code: 2, stderr: []string{`"--parallel" flag: want >= 0`}},
		{name: "max-work -2", args: []string{"simulate", "--max-work", "-2"}, code: 2, stderr: []string{`"--max-work" flag: want >= -1`}},
		{name: "max-work 1.5", args: []string{"simulate", "--max-work", "1.5"}, code: 2, stderr: []string{`"--max-work" flag: want a whole number`}},
		{name: "max-memory lots", args: []string{"simulate", "--max-memory", "lots"}, code: 2, stderr: []string{`"--max-memory" flag: want a size such as 512MiB`}},
		// Files that are not scenarios: refused before being read, never quoted.
		{name: "field of a bad scenario", args: []string{"simulate", scenario("bad.yaml", "name: x\nduration: soon\n")}, code: 1,
			stderr: []string{"tollgate simulate: " + filepath.Join(dir, "bad.yaml") + `:2: field "duration"`}},
		{name: "a device", args: []string{"simulate", "/dev/zero"}, code: 1, stderr: []string{"read scenario: /dev/zero: not a regular file"}},
		{name: "a directory", args: []string{"simulate", dir}, code: 1, stderr: []string{dir + ": not a regular file"}},
		{name: "larger than 1 MiB", args: []string{"simulate", scenario("big.yaml", base+"description: "+strings.Repeat("x", 1<<20)+"\n")}, code: 1,
			stderr: []string{"big.yaml: larger than 1048576 bytes: not a scenario file"}},
		{name: "a password file", args: []string{"simulate", filepath.Join(dir, "shadow")}, code: 1, stderr: []string{"shadow:1: not a scenario file"}, secret: "SECRETHASH"},
		{name: "an ini file", args: []string{"simulate", filepath.Join(dir, "my.ini")}, code: 1, stderr: []string{"my.ini"}, secret: "SECRETKEY"},
		{name: "server rules that are a password file", args: []string{"simulate", scenario("r-shadow.yaml", base+"server:\n  rules: shadow\n")}, code: 1,
			stderr: []string{"shadow:1: not a limiter rules file"}, secret: "SECRETHASH"},
		{name: "faults that are a password file", args: []string{"simulate", scenario("f-shadow.yaml", base+"server:\n  faults: shadow\n")}, code: 1,
			stderr: []string{"shadow:1: not a faults file"}, secret: "SECRETHASH"},
		{name: "tollgate rules that are an ini file", args: []string{"simulate", scenario("t-ini.yaml", base+"tollgate:\n  rules: my.ini\n")}, code: 1,
			stderr: []string{"my.ini"}, secret: "SECRETKEY"},
		{name: "rules that are a device", args: []string{"simulate", scenario("r-dev.yaml", base+"server:\n  rules: /dev/zero\n")}, code: 1,
			stderr: []string{"/dev/zero: not a regular file"}},
		{name: "rules alias bomb", args: []string{"simulate", scenario("r-bomb.yaml", base+"server:\n  rules: bomb-rules.yaml\n")}, code: 1,
			stderr: []string{"bomb-rules.yaml:", "YAML aliases expand the file"}, maxRSS: 64 << 20},
		// Virtual time that would overflow (a panic before): refused at the rule's file:line:field.
		{name: "server rate 1e-9", args: []string{"simulate", scenario("server-slow.yaml", base+"server:\n  rules: slow-1e-9.yaml\n")}, code: 1,
			stderr: []string{`slow-1e-9.yaml:5: server rules: rule "slow": field "rate": 1e-09 per second`}},
		{name: "tollgate rate 1e-6", args: []string{"simulate", scenario("tg-slow.yaml", base+"tollgate:\n  rules: slow-1e-6.yaml\n")}, code: 1,
			stderr: []string{`slow-1e-6.yaml:5: tollgate rules: rule "slow": field "rate"`}},
		{name: "duration of 200 years", args: []string{"simulate", scenario("long.yaml", strings.Replace(base, "10s", "1752000h", 1))}, code: 1,
			stderr: []string{"span at most"}},
		// Work and memory (issue: 1.7 KB took 562 MB, 3.9 KB 5.1 GB, 17 KB died out of memory;
		// rate 1e9 for 1 h ran out of memory after 68 s).
		{name: "alias bomb of " + kib(bomb17), args: []string{"simulate", scenario("bomb17.yaml", bomb17)}, code: 1,
			stderr: []string{"bomb17.yaml:", "YAML aliases expand the scenario to more than 100000 nodes"}, maxRSS: 64 << 20},
		{name: "alias bomb of " + kib(bomb39), args: []string{"simulate", scenario("bomb39.yaml", bomb39)}, code: 1,
			stderr: []string{"YAML aliases expand the scenario to more than 100000 nodes"}, maxRSS: 64 << 20},
		{name: "billion laughs of " + kib(laughs), args: []string{"simulate", scenario("laughs.yaml", laughs)}, code: 1,
			stderr: []string{"YAML aliases expand the scenario"}, maxRSS: 64 << 20},
		{name: "rate 1e9 for an hour", args: []string{"simulate", hour1e9}, code: 4,
			stderr: []string{`scenario "s" would need about 1.01e+14 of calls + attempts`, "more than the limit of 1e+09 (--max-work)", "raise --max-work (-1: no limit)"}, maxRSS: 64 << 20},
		{name: "rate 1e9 for an hour without a work limit", args: []string{"simulate", hour1e9, "--max-work", "-1"}, code: 4,
			stderr: []string{"GiB of memory", "(--max-memory)"}, maxRSS: 64 << 20},
		{name: "a million tollgate processes", args: []string{"simulate", scenario("procs.yaml",
			strings.Replace(base, "    rate: 10\n", "    rate: 10\n    processes: 1000000\n", 1)+"strategies: [tollgate]\n")}, code: 4,
			stderr: []string{"GiB of memory", "--max-memory"}, maxRSS: 64 << 20},
		{name: "a billion workers", args: []string{"simulate", scenario("workers.yaml",
			"name: s\nduration: 1s\ngroups:\n  - {name: g, loop: closed, workers: 1000000000, operations: [{service: EC2, operation: DescribeInstances}]}\n")}, code: 4,
			stderr: []string{"more than the limit"}, maxRSS: 64 << 20},
		{name: "small memory limit", args: []string{"simulate", smallScenario, "--max-memory", "1MiB"}, code: 4,
			stderr: []string{`scenario "small" would need about`, "more than the limit of 1 MiB (--max-memory)"}},
		{name: "small work limit", args: []string{"simulate", smallScenario, "--max-work", "1000"}, code: 4,
			stderr: []string{"more than the limit of 1e+03 (--max-work)"}},
		{name: "estimate", args: []string{"simulate", smallScenario, "--estimate"}, code: 0,
			stdout: []string{`estimate of scenario "small"`, "work (calls + attempts)", "limit 1e+09 (--max-work)", "within the limits: the run would start"}},
		{name: "estimate over the limit", args: []string{"simulate", hour1e9, "--estimate", "--format", "json"}, code: 4,
			stdout: []string{`"work": 100800000000000`, `"refused": "work"`}, stderr: []string{"(--max-work)"}},
	})
}

func TestReplayInputs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	writeBucketTrace(t, good, 10, 50)
	sorted := steadyTimes(20000)
	writeFiles(t, dir, map[string]string{
		"two-centuries.jsonl": traceLines([]time.Time{time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}),
		"unsorted.jsonl":      traceLines(shuffled(sorted, 7)),
		"jiggled.jsonl":       traceLines(jiggled(sorted, 2*time.Second, 3)),
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
		{name: "rtt -1s", args: []string{"replay", good, "--rtt", "-1s"}, code: 2, stderr: []string{`invalid argument "-1s" for "--rtt" flag: want > 0s`}},
		{name: "rtt 0", args: []string{"replay", good, "--rtt", "0s"}, code: 2, stderr: []string{`"--rtt" flag: want > 0s`}},
		{name: "timeout -1s", args: []string{"replay", good, "--timeout", "-1s"}, code: 2, stderr: []string{`"--timeout" flag: want >= 0s`}},
		{name: "parallel -1", args: []string{"replay", good, "--parallel", "-1"}, code: 2, stderr: []string{`"--parallel" flag: want >= 0`}},
		{name: "input format", args: []string{"replay", good, "--input-format", "xml"}, code: 2, stderr: []string{`"--input-format" flag: want one of auto, jsonl`}},
		{name: "max-call-duration 0", args: []string{"replay", good, "--max-call-duration", "0s"}, code: 2, stderr: []string{`"--max-call-duration" flag: want 1ms to 438000h0m0s`}},
		{name: "rtt over max-call-duration", args: []string{"replay", good, "--rtt", "2s", "--max-call-duration", "1s"}, code: 2,
			stderr: []string{"--rtt (2s) must not exceed --max-call-duration (1s)"}},
		{name: "order-window 0", args: []string{"replay", good, "--order-window", "0s"}, code: 2, stderr: []string{`"--order-window" flag: want > 0s`}},
		{name: "order-buffer 0", args: []string{"replay", good, "--order-buffer", "0"}, code: 2, stderr: []string{`"--order-buffer" flag: want 1 to 1048576`}},
		{name: "max-memory lots", args: []string{"replay", good, "--max-memory", "lots"}, code: 2, stderr: []string{`"--max-memory" flag: want a size`}},
		{name: "no trace", args: []string{"replay"}, code: 2, stderr: []string{"want exactly one TRACE, got 0"}},
		{name: "standard input", args: []string{"replay", "-"}, code: 2, stderr: []string{"give a file, not - (standard input)"}},
		// Nothing usable (issue: exit 0 with 0 requests).
		{name: "wrong input format", args: []string{"replay", good, "--input-format", "csv"}, code: 3, stderr: []string{"no usable request in " + good, "--input-format auto"}},
		{name: "only a zero time", args: []string{"replay", f("zero-time.jsonl")}, code: 3, stderr: []string{"no usable request", "1 records skipped"}},
		{name: "a device", args: []string{"replay", "/dev/zero", "--input-format", "jsonl"}, code: 3, stderr: []string{"no usable request in /dev/zero"}},
		// Virtual time that would overflow (issue: panics).
		{name: "times 325 years apart", args: []string{"replay", f("two-centuries.jsonl")}, code: 1,
			stderr: []string{`two-centuries.jsonl:2: field "time": 2025-01-01T00:00:00Z is 325 years after the trace's first record`}},
		{name: "rules rate 1e-6 given to tollgate", args: []string{"replay", good, "--strategies", "tollgate", "--rules", f("slow-1e-6.yaml")}, code: 1,
			stderr: []string{`slow-1e-6.yaml:5: replay rules: rule "slow": field "rate": 1e-06 per second refills 1 token(s) every 11.6 days`}},
		{name: "tollgate rules rate 1e-9", args: []string{"replay", good, "--tollgate-rules", f("slow-1e-9.yaml")}, code: 1,
			stderr: []string{`slow-1e-9.yaml:5: tollgate rules: rule "slow": field "rate"`}},
		// Silently wrong results (issue: 162 successes of 20,000 and "capacity 0.0/s", exit 0).
		{name: "unsorted trace", args: []string{"replay", f("unsorted.jsonl")}, code: 1,
			stderr: []string{"unsorted.jsonl:", `field "time"`, "the trace is not sorted by time", "tollgate import"}},
		{name: "unsorted trace with rules", args: []string{"replay", f("unsorted.jsonl"), "--rules", f("ok-rules.yaml"), "--strategies", "no-retry"}, code: 1,
			stderr: []string{"unsorted.jsonl:", "not sorted by time"}},
		{name: "a trace a little out of order", args: []string{"replay", f("jiggled.jsonl"), "--strategies", "no-retry"}, code: 0, stdout: []string{"no-retry"}},
		{name: "out of order beyond --order-window", args: []string{"replay", f("jiggled.jsonl"), "--strategies", "no-retry", "--order-window", "1s"}, code: 1,
			stderr: []string{"jiggled.jsonl:", "not sorted by time"}},
		// Rules files named by mistake.
		{name: "bad rules field", args: []string{"replay", good, "--rules", f("bad-rules.yaml")}, code: 1, stderr: []string{f("bad-rules.yaml") + `:4: rule "x": field "rate"`}},
		{name: "rules that are a device", args: []string{"replay", good, "--rules", "/dev/zero"}, code: 1, stderr: []string{"/dev/zero: not a regular file"}},
		{name: "rules that are a password file", args: []string{"replay", good, "--rules", f("shadow")}, code: 1,
			stderr: []string{"shadow:1: not a limiter rules file"}, secret: "SECRETHASH"},
		{name: "rules alias bomb", args: []string{"replay", good, "--tollgate-rules", f("bomb.yaml")}, code: 1,
			stderr: []string{"bomb.yaml:", "YAML aliases expand the file to more than"}, maxRSS: 64 << 20},
		{name: "missing trace", args: []string{"replay", f("missing.jsonl")}, code: 1, stderr: []string{"missing.jsonl: no such file"}},
		// Memory.
		{name: "memory limit", args: []string{"replay", good, "--max-memory", "64KiB", "--strategies", "tollgate"}, code: 4,
			stderr: []string{"replay stopped after reaching", "more than the limit of 64 KiB (--max-memory)"}},
	})
}

func TestImportInputs(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "trace.jsonl")
	writeBucketTrace(t, tr, 10, 50)
	ok := `{"time":"2025-01-01T00:00:00Z","service":"EC2","operation":"DescribeInstances","outcome":"success"}` + "\n"
	ct := `{"eventTime":"2025-03-14T09:26:53Z","eventSource":"sts.amazonaws.com","eventName":"GetCallerIdentity"}`
	writeFiles(t, dir, map[string]string{
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
		{name: "no input", args: []string{"import"}, code: 2, stderr: []string{"want at least one INPUT"}},
		{name: "out and output", args: []string{"import", tr, "--out", dir, "--output", "x"}, code: 2, stderr: []string{"give --out or --output, not both"}},
		// Data loss (issue: the input became 0 bytes, exit 0).
		{name: "output over its input", args: []string{"import", "--output", tr, tr}, code: 2, stderr: []string{"refusing to write over input " + tr}},
		{name: "out over its input", args: []string{"import", "--out", out, inOut}, code: 2, stderr: []string{"refusing to write over input " + inOut}},
		// Nothing usable (issue: exit 0, "0 records written from 0 files").
		{name: "junk", args: []string{"import", f("junk.log")}, code: 3, stderr: []string{"no usable record", "unrecognized file", "junk.log:1:"}},
		{name: "junk as S3 logs", args: []string{"import", f("junk.log"), "--input-format", "s3-access-log"}, code: 3, stderr: []string{"malformed line", "junk.log:1:"}},
		{name: "junk to a file", args: []string{"import", f("junk.log"), "--output", f("out.jsonl")}, code: 3, stderr: []string{"no usable record"}},
		{name: "a device", args: []string{"import", "/dev/zero", "--input-format", "jsonl"}, code: 3,
			stderr: []string{"/dev/zero:1: line longer than 67108864 bytes and still going: rest of the file skipped"}, maxRSS: 64 << 20},
		{name: "a device as CSV", args: []string{"import", "/dev/zero", "--input-format", "csv"}, code: 3,
			stderr: []string{"/dev/zero:1: line longer than 1048576 bytes: rest of the file skipped"}, maxRSS: 64 << 20},
		// A zero time (issue: the import stopped, with no line number and "trace:" twice).
		{name: "a zero time", args: []string{"import", f("zero-time.jsonl")}, code: 0,
			stderr: []string{"1 records written", `bad time`, f("zero-time.jsonl") + `:2: field "time": "0001-01-01T00:00:00Z" is the zero time`}},
		{name: "only a zero time", args: []string{"import", f("only-zero.csv"), "--output", f("zero-out.jsonl")}, code: 3,
			stderr: []string{"no usable record"}, stdout: []string{f("only-zero.csv") + `:2: field "time"`}},
		// CloudTrail (issue: every error said line 1).
		{name: "CloudTrail on one line", args: []string{"import", f("cloudtrail.json")}, code: 0,
			stderr: []string{"2 records written", f("cloudtrail.json") + `:1: record 2: field "eventTime": "yesterday" is not an RFC 3339 time`}},
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
	sorted := steadyTimes(20000)
	writeFiles(t, dir, map[string]string{
		"unsorted.jsonl": traceLines(shuffled(sorted, 7)),
		"junk.log":       "this is not a log line\n",
	})
	f := func(name string) string { return filepath.Join(dir, name) }
	runCases(t, []cliCase{
		{name: "idle-gap -1s", args: []string{"fit", good, "--idle-gap", "-1s"}, code: 2, stderr: []string{`"--idle-gap" flag: want > 0s`}},
		{name: "streak-gap 0", args: []string{"fit", good, "--streak-gap", "0"}, code: 2, stderr: []string{`"--streak-gap" flag: want > 0s`}},
		{name: "order-buffer 0", args: []string{"fit", good, "--order-buffer", "0"}, code: 2, stderr: []string{`"--order-buffer" flag: want 1 to 1048576`}},
		{name: "out and output", args: []string{"fit", good, "--out", dir, "--output", "x"}, code: 2, stderr: []string{"give --out or --output, not both"}},
		{name: "output over its input", args: []string{"fit", good, "--output", good}, code: 2, stderr: []string{"refusing to write over input " + good}},
		{name: "junk", args: []string{"fit", f("junk.log"), "--input-format", "s3-access-log"}, code: 3, stderr: []string{"no usable record in " + f("junk.log")}},
		{name: "never throttled", args: []string{"fit", quiet, "--out", f("fit-quiet")}, code: 3, stderr: []string{"no API in " + quiet + " was ever throttled"}},
		// Silently wrong results (issue: "saturated -40519.3s", "no API was ever throttled"
		// with 4,062 throttles).
		{name: "unsorted trace", args: []string{"fit", f("unsorted.jsonl")}, code: 1,
			stderr: []string{"unsorted.jsonl:", `field "time"`, "not sorted by time"}},
		{name: "a device", args: []string{"fit", "/dev/zero", "--input-format", "jsonl"}, code: 3, stderr: []string{"no usable record in /dev/zero"}},
		{name: "good", args: []string{"fit", good}, code: 0, stdout: []string{"burst: 50"}},
	})
	if _, err := os.Stat(f("fit-quiet")); !os.IsNotExist(err) {
		t.Errorf("fit-quiet exists after a fit with nothing usable (%v)", err)
	}
}

func TestBrookerInputs(t *testing.T) {
	runCases(t, []cliCase{
		{name: "parallel -1", args: []string{"brooker", "--parallel", "-1"}, code: 2, stderr: []string{`"--parallel" flag: want >= 0`}},
		{name: "runs 0", args: []string{"brooker", "--runs", "0"}, code: 2, stderr: []string{`"--runs" flag: want 1 to 1000000`}},
		{name: "clients backwards", args: []string{"brooker", "--clients", "5..1"}, code: 2, stderr: []string{"--clients: want FROM..TO"}},
		{name: "clients 0", args: []string{"brooker", "--clients", "0"}, code: 2, stderr: []string{"--clients: want client counts from 1 to 2147483647"}},
		{name: "too many client counts", args: []string{"brooker", "--clients", "1..100000/1"}, code: 2, stderr: []string{"gives 100000 client counts, more than 1000"}},
		{name: "jitter", args: []string{"brooker", "--jitters", "wobbly"}, code: 2, stderr: []string{"--jitters"}},
		{name: "max-memory -2", args: []string{"brooker", "--max-memory", "-2"}, code: 2, stderr: []string{`"--max-memory" flag: want >= -1`}},
		// Issue: ran 11 minutes to 10 GB, deaf to SIGINT.
		{name: "a hundred million clients", args: []string{"brooker", "--clients", "100000000"}, code: 4,
			stderr: []string{"brooker would need about 22.5 GiB of memory (100000000 clients × 121 bytes × 2 points at once)", "(--max-memory)"}, maxRSS: 64 << 20},
		{name: "small memory limit", args: []string{"brooker", "--clients", "10,40", "--max-memory", "1KiB", "--parallel", "1"}, code: 4,
			stderr: []string{"more than the limit of 1 KiB (--max-memory)"}},
	})
}

func TestVersionAndCompletionInputs(t *testing.T) {
	runCases(t, []cliCase{
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"tollgate ", "revision: "}},
		{name: "version format", args: []string{"version", "--format", "xml"}, code: 2, stderr: []string{`"--format" flag: want one of table, json`}},
		{name: "version argument", args: []string{"version", "now"}, code: 2, stderr: []string{`unexpected argument "now"`}},
		{name: "completion shell", args: []string{"completion", "tcsh"}, code: 2, stderr: []string{`unknown shell "tcsh"`}},
		{name: "completion nothing", args: []string{"completion"}, code: 2, stderr: []string{"want one SHELL"}},
		{name: "completion bash", args: []string{"completion", "bash"}, code: 0, stdout: []string{"__start_tollgate"}},
	})
}
