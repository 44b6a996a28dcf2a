package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/internal/cli"
	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/trace"
)

const s3AccessLog = "../../simulate/trace/testdata/s3/access.log"

// writeQuietTrace writes a trace of n successful calls, none throttled.
func writeQuietTrace(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := trace.NewWriter(f)
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		rec := trace.Record{Time: at.Add(time.Duration(i) * 10 * time.Millisecond), Service: "EC2", Operation: "DescribeInstances",
			Region: "eu-west-1", Outcome: trace.OutcomeSuccess, Client: "ctl"}
		if err := w.Write(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// The README's and the command lines: flags after positional arguments.
func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "trace.jsonl")
	writeBucketTrace(t, tr, 10, 50)

	code, out, errOut := run(t, "replay", tr, "--strategies", "tollgate,sdk-standard")
	if code != 0 || !strings.Contains(out, "sdk-standard") || strings.Contains(out, "no-retry") {
		t.Errorf("replay TRACE --strategies: exit %d, stderr %s\n%s", code, errOut, out)
	}

	code, out, errOut = run(t, "simulate", smallScenario, "--format", "json", "--strategies", "no-retry")
	var c simulate.Comparison
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.Scenario != "small" {
		t.Errorf("simulate FILE --format json: exit %d, stderr %s\n%.300s", code, errOut, out)
	}

	imported := filepath.Join(dir, "imported")
	code, out, errOut = run(t, "import", s3AccessLog, "--out", imported)
	if code != 0 || !strings.Contains(out, "7 records written") {
		t.Errorf("import FILE --out DIR: exit %d, stderr %s\n%s", code, errOut, out)
	}
	for _, f := range []string{"trace.jsonl", "import.json"} {
		if st, err := os.Stat(filepath.Join(imported, f)); err != nil || st.Size() == 0 {
			t.Errorf("import --out: %s: %v", f, err)
		}
	}

	fitted := filepath.Join(dir, "fitted")
	code, out, errOut = run(t, "fit", tr, "--out", fitted, "--format", "markdown")
	if code != 0 || !strings.Contains(out, "| EC2 | DescribeInstances |") {
		t.Errorf("fit FILE --out DIR: exit %d, stderr %s\n%s", code, errOut, out)
	}
	if _, err := os.Stat(filepath.Join(fitted, "rules.yaml")); err != nil {
		t.Error(err)
	}
	if names := dirNames(t, fitted); strings.Join(names, ",") != "fit.json,rules.yaml" {
		t.Errorf("fit --out wrote %v", names)
	}
}

// exitCase is one command line with the exit status and message it must give.
type exitCase struct {
	name     string
	args     []string
	code     int
	inStderr []string
}

func checkExit(t *testing.T, c exitCase) {
	t.Helper()
	code, out, errOut := run(t, c.args...)
	if code != c.code {
		t.Errorf("%s: tollgate %s: exit %d, want %d\nstderr: %s\nstdout: %.300s", c.name, strings.Join(c.args, " "), code, c.code, errOut, out)
	}
	for _, want := range c.inStderr {
		if !strings.Contains(errOut, want) {
			t.Errorf("%s: stderr lacks %q:\n%s", c.name, want, errOut)
		}
	}
	// One prefix per message: "tollgate simulate: simulate: ..." is a defect.
	for _, line := range strings.Split(errOut, "\n") {
		if prog, rest, ok := strings.Cut(line, ": "); ok && strings.HasPrefix(prog, "tollgate ") {
			cmd := strings.TrimPrefix(prog, "tollgate ")
			if strings.HasPrefix(rest, cmd+": ") {
				t.Errorf("%s: doubled prefix: %q", c.name, line)
			}
		}
	}
}

// Every numeric flag refuses values outside its range (usage error, exit 2, the range in the
// message); inputs with nothing usable exit 3; broken inputs exit 1 naming file, line and field.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	writeBucketTrace(t, good, 10, 50)
	quiet := filepath.Join(dir, "quiet.jsonl")
	writeQuietTrace(t, quiet, 50)
	junk := filepath.Join(dir, "junk.log")
	os.WriteFile(junk, []byte("this is not a log line\nnor is this\n"), 0o644)
	badScenario := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badScenario, []byte("name: x\nduration: soon\n"), 0o644)
	badRules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(badRules, []byte("rules:\n  - name: x\n    service: EC2\n    rate: 0\n    burst: 1\n"), 0o644)

	for _, c := range []exitCase{
		// Usage errors.
		{"no such command", []string{"simulat"}, 2, []string{`unknown command "simulat"`, `did you mean "simulate"?`, "tollgate --help"}},
		{"moved to tollgate-live", []string{"load", "--rate", "10"}, 2, []string{"tollgate-live", "go run ./cmd/tollgate-live load"}},
		{"unknown flag", []string{"simulate", "--nope"}, 2, []string{"tollgate simulate: unknown flag: --nope", "Run 'tollgate simulate --help'"}},
		{"format", []string{"simulate", "--format", "xml"}, 2, []string{`"--format" flag: want one of table, json, markdown`}},
		{"strategy", []string{"simulate", "--strategies", "magic"}, 2, []string{"--strategies"}},
		{"two scenarios", []string{"simulate", "a.yaml", "b.yaml"}, 2, []string{"want at most one SCENARIO, got 2"}},
		{"runs", []string{"simulate", "--runs", "-1"}, 2, []string{`"--runs" flag: want >= 0`}},
		{"simulate parallel", []string{"simulate", "--parallel", "-1"}, 2, []string{`"--parallel" flag: want >= 0`}},
		{"replay rtt", []string{"replay", good, "--rtt", "-1s"}, 2, []string{`invalid argument "-1s" for "--rtt" flag: want > 0s`}},
		{"replay rtt 0", []string{"replay", good, "--rtt", "0s"}, 2, []string{`"--rtt" flag: want > 0s`}},
		{"replay timeout", []string{"replay", good, "--timeout", "-1s"}, 2, []string{`"--timeout" flag: want >= 0s`}},
		{"replay parallel", []string{"replay", good, "--parallel", "-1"}, 2, []string{`"--parallel" flag: want >= 0`}},
		{"replay input format", []string{"replay", good, "--input-format", "xml"}, 2, []string{`"--input-format" flag: want one of auto, jsonl`}},
		{"replay no trace", []string{"replay"}, 2, []string{"want exactly one TRACE, got 0"}},
		{"replay stdin", []string{"replay", "-"}, 2, []string{"give a file, not - (standard input)"}},
		{"brooker parallel", []string{"brooker", "--parallel", "-1"}, 2, []string{`"--parallel" flag: want >= 0`}},
		{"brooker runs", []string{"brooker", "--runs", "0"}, 2, []string{`"--runs" flag: want 1 to 1000000`}},
		{"brooker clients", []string{"brooker", "--clients", "5..1"}, 2, []string{"--clients: want FROM..TO"}},
		{"brooker huge", []string{"brooker", "--clients", "100000000"}, 2, []string{"--clients: want client counts from 1 to 100000"}},
		{"brooker jitter", []string{"brooker", "--jitters", "wobbly"}, 2, []string{"--jitters"}},
		{"fit idle gap", []string{"fit", good, "--idle-gap", "-1s"}, 2, []string{`"--idle-gap" flag: want > 0s`}},
		{"fit streak gap", []string{"fit", good, "--streak-gap", "0"}, 2, []string{`"--streak-gap" flag: want > 0s`}},
		{"fit two outputs", []string{"fit", good, "--out", dir, "--output", "x"}, 2, []string{"give --out or --output, not both"}},
		{"import none", []string{"import"}, 2, []string{"want at least one INPUT"}},
		{"emulate latency", []string{"emulate", "--latency", "-1s"}, 2, []string{`"--latency" flag: want >= 0s`}},
		{"emulate split", []string{"emulate", "--split-after", "0s"}, 2, []string{`"--split-after" flag: want > 0s`}},
		{"completion shell", []string{"completion", "tcsh"}, 2, []string{`unknown shell "tcsh"`}},
		// Nothing usable.
		{"replay wrong format", []string{"replay", good, "--input-format", "csv"}, 3, []string{"no usable request in " + good, "--input-format auto"}},
		{"import junk", []string{"import", junk}, 3, []string{"no usable record", "unrecognized file", "junk.log:1:"}},
		{"import junk as S3 logs", []string{"import", junk, "--input-format", "s3-access-log"}, 3, []string{"no usable record", "malformed line", "junk.log:1:"}},
		{"import junk to a file", []string{"import", junk, "--output", filepath.Join(dir, "out.jsonl")}, 3, []string{"no usable record"}},
		{"fit junk", []string{"fit", junk, "--input-format", "s3-access-log"}, 3, []string{"no usable record in " + junk}},
		{"fit quiet", []string{"fit", quiet, "--out", filepath.Join(dir, "fit-quiet")}, 3, []string{"no API in " + quiet + " was ever throttled"}},
		// Failures naming file, line and field.
		{"bad scenario", []string{"simulate", badScenario}, 1, []string{`tollgate simulate: ` + badScenario + `:2: field "duration"`}},
		{"bad rules", []string{"replay", good, "--rules", badRules}, 1, []string{badRules + `:4: rule "x": field "rate"`}},
		{"missing trace", []string{"replay", filepath.Join(dir, "missing.jsonl")}, 1, []string{"missing.jsonl: no such file"}},
	} {
		checkExit(t, c)
	}
	// Nothing was written for the inputs with nothing usable.
	for _, f := range []string{"out.jsonl", "fit-quiet"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s exists after a run with nothing usable (%v)", f, err)
		}
	}
}

// The exit statuses are the ones the package documents.
func TestExitStatusValues(t *testing.T) {
	if cli.ExitOK != 0 || cli.ExitFailure != 1 || cli.ExitUsage != 2 || cli.ExitNothingUsable != 3 || cli.ExitInterrupted != 130 {
		t.Fatal("exit statuses changed: update the README, --help and internal/cli's documentation")
	}
}

// Every command answers --help with a usage line and examples.
func TestEveryCommandHasHelpWithExamples(t *testing.T) {
	for _, c := range newRoot().Commands() {
		if c.Name() == "help" || c.Hidden {
			continue
		}
		code, out, _ := run(t, c.Name(), "--help")
		if code != 0 || !strings.Contains(out, "Usage:\n  tollgate "+c.Name()) || !strings.Contains(out, "Examples:\n  ") {
			t.Errorf("%s --help: exit %d\n%s", c.Name(), code, out)
		}
	}
	code, out, _ := run(t, "--help")
	for _, want := range []string{"tollgate-live", "load, dashboard", "Exit status", "3 nothing usable"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("tollgate --help lacks %q (exit %d)", want, code)
		}
	}
	// Ranges are in --help.
	_, out, _ = run(t, "replay", "--help")
	if !strings.Contains(out, "network round trip of each attempt; valid: > 0s (default 20ms)") {
		t.Errorf("replay --help does not show --rtt's range:\n%s", out)
	}
}

func TestCompletionScripts(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash not on PATH")
	}
	code, out, errOut := run(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "__start_tollgate") {
		t.Fatalf("completion bash: exit %d: %s", code, errOut)
	}
	script := filepath.Join(t.TempDir(), "tollgate.bash")
	os.WriteFile(script, []byte(out), 0o644)
	if b, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Errorf("bash -n rejects the completion script: %v\n%s", err, b)
	}
	for shell, want := range map[string]string{"zsh": "#compdef tollgate", "fish": "complete -c tollgate", "powershell": "Register-ArgumentCompleter"} {
		if code, out, _ := run(t, "completion", shell); code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: exit %d, no %q", shell, code, want)
		}
	}
	// Completion of flag values: --format offers the formats, --strategies the strategies.
	_, out, _ = run(t, "__complete", "simulate", "--format", "")
	if !strings.Contains(out, "markdown") {
		t.Errorf("--format completion: %q", out)
	}
	_, out, _ = run(t, "__complete", "replay", "x.jsonl", "--strategies", "tollgate,")
	if !strings.Contains(out, "tollgate,sdk-standard") {
		t.Errorf("--strategies completion: %q", out)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "version")
	bi, _ := debug.ReadBuildInfo()
	if code != 0 || !strings.Contains(out, "tollgate ") || !strings.Contains(out, "module:   "+bi.Main.Path) ||
		!strings.Contains(out, "go:       go1.") || !strings.Contains(out, "revision: ") {
		t.Fatalf("version: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "version", "--format", "json")
	var v cli.Version
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Program != "tollgate" || v.Revision == "" || v.Go == "" {
		t.Fatalf("version --format json: exit %d\n%s", code, out)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
