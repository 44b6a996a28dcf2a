package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A cancelled context (what SIGINT and SIGTERM cause) ends every long-running command with
// status 130 and no output files.
func TestCancelledCommandsExit130WithoutOutputs(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "trace.jsonl")
	writeBucketTrace(t, tr, 10, 50)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"simulate", "--out", filepath.Join(dir, "sim")},
		{"replay", tr, "--out", filepath.Join(dir, "replay")},
		{"brooker", "--clients", "10", "--runs", "2", "--out", filepath.Join(dir, "brooker")},
		{"import", tr, "--out", filepath.Join(dir, "import")},
		{"fit", tr, "--out", filepath.Join(dir, "fit")},
	} {
		var stdout, stderr bytes.Buffer
		code := execute(ctx, args, &stdout, &stderr)
		if code != 130 || !strings.Contains(stderr.String(), "tollgate "+args[0]+": interrupted") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("outputs left behind: %v", names)
	}
	if _, err := os.Stat(tr); err != nil {
		t.Fatal(err)
	}
}
