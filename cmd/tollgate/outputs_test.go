package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A command never writes over one of its inputs, whatever path leads to it: the run is a
// usage error (exit 2), nothing is written, the input is intact.
func TestOutputsNeverOverwriteInputs(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "trace.jsonl")
	writeBucketTrace(t, tr, 10, 50)
	original, _ := os.ReadFile(tr)
	link := filepath.Join(dir, "link.jsonl")
	os.Symlink(tr, link)
	// An input named like an output, in the --out directory.
	outDir := filepath.Join(dir, "o1")
	os.MkdirAll(outDir, 0o755)
	inOut := filepath.Join(outDir, "trace.jsonl")
	os.WriteFile(inOut, original, 0o644)
	asRules := filepath.Join(outDir, "rules.yaml")
	os.WriteFile(asRules, original, 0o644)
	asReport := filepath.Join(outDir, "report.json")
	os.WriteFile(asReport, original, 0o644)
	scenario, _ := os.ReadFile(smallScenario)
	asReportMD := filepath.Join(outDir, "report.md")
	os.WriteFile(asReportMD, scenario, 0o644)
	os.WriteFile(filepath.Join(outDir, "small-rules.yaml"), mustRead(t, "../../simulate/testdata/small-rules.yaml"), 0o644)
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o755)
	os.WriteFile(filepath.Join(logs, "access.log"), mustRead(t, s3AccessLog), 0o644)

	runCases(t, []cliCase{
		{Name: "import --output same", Args: []string{"import", "--output", tr, tr}, Code: 2, Stderr: []string{"refusing to write over input " + tr}},
		{Name: "import --output symlink", Args: []string{"import", tr, "--output", link}, Code: 2, Stderr: []string{"refusing to write " + link + ": it is input " + tr}},
		{Name: "import --out default name", Args: []string{"import", "--out", outDir, inOut}, Code: 2, Stderr: []string{"refusing to write over input " + inOut}},
		{Name: "import --out inside input dir", Args: []string{"import", logs, "--out", filepath.Join(logs, "out")}, Code: 2, Stderr: []string{"inside input directory " + logs}},
		{Name: "fit --output same", Args: []string{"fit", tr, "--output", tr}, Code: 2, Stderr: []string{"refusing to write over input " + tr}},
		{Name: "fit --out default name", Args: []string{"fit", asRules, "--out", outDir}, Code: 2, Stderr: []string{"refusing to write over input " + asRules}},
		{Name: "replay --out default name", Args: []string{"replay", asReport, "--strategies", "no-retry", "--out", outDir}, Code: 2, Stderr: []string{"refusing to write over input " + asReport}},
		{Name: "simulate --out default name", Args: []string{"simulate", asReportMD, "--strategies", "no-retry", "--out", outDir}, Code: 2, Stderr: []string{"refusing to write over input " + asReportMD}},
	})
	for _, f := range []string{tr, inOut, asRules, asReport} {
		if b, _ := os.ReadFile(f); !bytes.Equal(b, original) {
			t.Errorf("%s changed", f)
		}
	}
	if b, _ := os.ReadFile(asReportMD); !bytes.Equal(b, scenario) {
		t.Errorf("%s changed", asReportMD)
	}
	if names := dirNames(t, outDir); strings.Join(names, ",") != "report.json,report.md,rules.yaml,small-rules.yaml,trace.jsonl" {
		t.Errorf("the --out directory changed: %v", names)
	}
	if _, err := os.Stat(filepath.Join(logs, "out")); !os.IsNotExist(err) {
		t.Errorf("import created its --out inside its input directory (%v)", err)
	}

	// Outputs that are not inputs are replaced whole.
	out := filepath.Join(dir, "out.jsonl")
	os.WriteFile(out, []byte("an older import\n"), 0o644)
	if code, _, errOut := run(t, "import", tr, "--output", out); code != 0 {
		t.Fatalf("import over an older output: exit %d: %s", code, errOut)
	}
	if b, _ := os.ReadFile(out); bytes.Contains(b, []byte("older")) || len(b) < len(original)/2 {
		t.Errorf("output not replaced: %.100s", b)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
