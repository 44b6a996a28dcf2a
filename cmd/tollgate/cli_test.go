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

// The exit statuses are the ones the package documents.
func TestExitStatusValues(t *testing.T) {
	if cli.ExitOK != 0 || cli.ExitFailure != 1 || cli.ExitUsage != 2 || cli.ExitNothingUsable != 3 || cli.ExitRefused != 4 || cli.ExitInterrupted != 130 {
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
	for _, want := range []string{"tollgate-live", "load, dashboard", "Exit status", "3    nothing usable", "4    refused", "130  interrupted"} {
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
