package outfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWriteDirMovesAllOrNothing: the files a write draws reach the directory together, and only
// when the write succeeded and the context is live.
func TestWriteDirMovesAllOrNothing(t *testing.T) {
	write := func(stage string) error {
		for _, f := range []string{"a.txt", "plots/b.svg"} {
			p := filepath.Join(stage, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	failed := errors.New("drawing failed")
	for _, c := range []struct {
		name  string
		ctx   context.Context
		write func(string) error
		err   error
	}{
		{"cancelled", cancelled, write, context.Canceled},
		{"write fails", context.Background(), func(stage string) error { write(stage); return failed }, failed},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		if _, err := WriteDir(c.ctx, dir, nil, c.write); !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: %s holds %d entries, want none", c.name, dir, len(entries))
		}
	}
	dir := filepath.Join(t.TempDir(), "out")
	files, err := WriteDir(context.Background(), dir, nil, write)
	if err != nil || !slices.Equal(files, []string{"a.txt", filepath.Join("plots", "b.svg")}) {
		t.Fatalf("WriteDir = %v, %v", files, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "plots", "b.svg")); err != nil || string(b) != "plots/b.svg" {
		t.Errorf("plots/b.svg: %q, %v", b, err)
	}
}
