package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// entries lists a directory's names, hidden ones included.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestFileReplacesOnlyOnCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "trace.jsonl")
	os.WriteFile(path, []byte("old data\n"), 0o600)

	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new ")
	// Mid-write, the destination still holds the old data and the partial output is a hidden
	// temporary file beside it.
	if got := read(t, path); got != "old data\n" {
		t.Fatalf("destination changed before Commit: %q", got)
	}
	names := entries(t, dir)
	if len(names) != 2 || !strings.HasPrefix(names[0], ".tollgate-trace.jsonl-") {
		t.Fatalf("directory during the write: %v", names)
	}
	f.WriteString("data\n")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != "new data\n" {
		t.Fatalf("after Commit: %q", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary file left behind: %v", names)
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
	f.Abort() // after Commit: nothing
	if got := read(t, path); got != "new data\n" {
		t.Fatalf("Abort after Commit changed the file: %q", got)
	}
	if err := f.Commit(); err == nil {
		t.Error("second Commit succeeded")
	}
}

// An interrupted command aborts: the old file stays whole and no temporary file remains.
func TestFileAbortKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	os.WriteFile(path, []byte("rules: []\n"), 0o644)
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial")
	f.Abort()
	if got := read(t, path); got != "rules: []\n" {
		t.Fatalf("after Abort: %q", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary file left behind: %v", names)
	}
	// A new file aborted leaves nothing at all.
	f, _ = Create(filepath.Join(dir, "new.yaml"))
	f.Abort()
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("after aborting a new file: %v", names)
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Create(dir): %v", err)
	}
	if _, err := Create(filepath.Join(dir, "missing", "x")); err == nil {
		t.Error("Create in a missing directory succeeded")
	}
	if _, err := Create(""); err == nil {
		t.Error("Create(\"\") succeeded")
	}
	if err := WriteFile(filepath.Join(dir, "w.txt"), []byte("hi")); err != nil || read(t, filepath.Join(dir, "w.txt")) != "hi" {
		t.Errorf("WriteFile: %v", err)
	}
}

func TestStageCommitsAllFilesTogether(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "out", "deeper") // created by NewStage
	s, err := NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	os.MkdirAll(filepath.Join(s.Path(), "sub"), 0o755)
	os.WriteFile(filepath.Join(s.Path(), "report.json"), []byte("{}"), 0o600)
	os.WriteFile(filepath.Join(s.Path(), "sub", "a.yaml"), []byte("a"), 0o600)
	// Before Commit the destination shows only the hidden staging directory.
	if names := entries(t, out); len(names) != 1 || !strings.HasPrefix(names[0], ".tollgate-stage-") {
		t.Fatalf("destination before Commit: %v", names)
	}
	files, err := s.Commit(nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(files, ",") != "report.json,"+filepath.Join("sub", "a.yaml") {
		t.Errorf("committed %v", files)
	}
	if read(t, filepath.Join(out, "sub", "a.yaml")) != "a" || read(t, filepath.Join(out, "report.json")) != "{}" {
		t.Error("committed files differ")
	}
	if names := entries(t, out); strings.Join(names, ",") != "report.json,sub" {
		t.Errorf("destination after Commit: %v", names)
	}
}

func TestStageAbortLeavesTheDestinationAsItWas(t *testing.T) {
	out := t.TempDir()
	os.WriteFile(filepath.Join(out, "report.json"), []byte("old"), 0o644)
	s, err := NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Path(), "report.json"), []byte("new, half written"), 0o600)
	s.Abort()
	if names := entries(t, out); strings.Join(names, ",") != "report.json" || read(t, filepath.Join(out, "report.json")) != "old" {
		t.Errorf("after Abort: %v", names)
	}
}

// A stage aborted in a directory it created removes that directory again.
func TestStageAbortRemovesTheDirectoriesItCreated(t *testing.T) {
	root := t.TempDir()
	s, err := NewStage(filepath.Join(root, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Path(), "x"), []byte("x"), 0o600)
	s.Abort()
	if names := entries(t, root); len(names) != 0 {
		t.Errorf("after Abort: %v", names)
	}
}

func TestStageRefusesToOverwriteAnInput(t *testing.T) {
	out := t.TempDir()
	in := filepath.Join(out, "trace.jsonl")
	os.WriteFile(in, []byte("precious\n"), 0o644)
	s, err := NewStage(out)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Path(), "import.json"), []byte("{}"), 0o600)
	os.WriteFile(filepath.Join(s.Path(), "trace.jsonl"), []byte(""), 0o600)
	_, err = s.Commit(NewGuard(in))
	var ie *InputError
	if !errors.As(err, &ie) || ie.Input != in {
		t.Fatalf("Commit over an input: %v", err)
	}
	// Nothing was moved, not even the file that was safe to write.
	if names := entries(t, out); strings.Join(names, ",") != "trace.jsonl" || read(t, in) != "precious\n" {
		t.Errorf("after a refused Commit: %v", names)
	}
}

func TestGuard(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte("x"), 0o644)
	link := filepath.Join(dir, "link.jsonl")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.jsonl")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(filepath.Join(logs, "2025"), 0o755)
	logsLink := filepath.Join(dir, "logs-link")
	os.Symlink(logs, logsLink)

	g := NewGuard(in, logs, filepath.Join(dir, "missing"), "")
	for _, c := range []struct {
		out    string
		refuse bool
		inside bool
	}{
		{in, true, false},
		{filepath.Join(dir, ".", "in.jsonl"), true, false},
		{link, true, false},
		{hard, true, false},
		{filepath.Join(dir, "other.jsonl"), false, false},
		{filepath.Join(logs, "trace.jsonl"), true, true},
		{filepath.Join(logs, "2025", "new", "trace.jsonl"), true, true},
		{filepath.Join(logsLink, "trace.jsonl"), true, true},
		{filepath.Join(dir, "logs2", "trace.jsonl"), false, false},
		{filepath.Join(dir, "missing"), false, false},
	} {
		err := g.Check(c.out)
		var ie *InputError
		if got := errors.As(err, &ie); got != c.refuse || (got && ie.Inside != c.inside) {
			t.Errorf("Check(%s) = %v, want refused %t (inside %t)", c.out, err, c.refuse, c.inside)
		}
	}
	var nilGuard *Guard
	if err := nilGuard.Check(in); err != nil {
		t.Errorf("nil guard: %v", err)
	}
	msg := (&InputError{Output: in, Input: in}).Error()
	if !strings.Contains(msg, "refusing to write over input "+in) {
		t.Errorf("message %q", msg)
	}
}

// RemovePending removes what is being written — temporary files, staging directories and the
// directories a stage created — and leaves committed files and the previous outputs alone.
func TestRemovePending(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "trace.jsonl"), []byte("old"), 0o644)
	done, err := Create(filepath.Join(root, "done.txt"))
	if err != nil {
		t.Fatal(err)
	}
	done.WriteString("complete")
	if err := done.Commit(); err != nil {
		t.Fatal(err)
	}
	f, err := Create(filepath.Join(root, "trace.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("half written")
	s, err := NewStage(filepath.Join(root, "out", "report"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(s.Path(), "report.json"), []byte("half"), 0o600)
	RemovePending()
	if names := entries(t, root); strings.Join(names, ",") != "done.txt,trace.jsonl" || read(t, filepath.Join(root, "trace.jsonl")) != "old" {
		t.Errorf("after RemovePending: %v", names)
	}
	// The writers' own cleanup afterwards is harmless.
	f.Abort()
	s.Abort()
	RemovePending()
}
