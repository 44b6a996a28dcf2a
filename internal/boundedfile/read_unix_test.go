package boundedfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(small, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(small, 5, "test"); err != nil || string(b) != "12345" {
		t.Errorf("Read(small, 5) = %q, %v; want its 5 bytes", b, err)
	}
	for _, c := range []struct {
		path  string
		limit int64
		want  string
	}{
		{small, 4, small + ": larger than 4 bytes: not a test file"},
		{dir, 10, dir + ": not a regular file"},
		{fifo, 10, fifo + ": not a regular file"}, // would block on open
		{"/dev/zero", 10, "/dev/zero: not a regular file"},
	} {
		if _, err := Read(c.path, c.limit, "test"); err == nil || err.Error() != c.want {
			t.Errorf("Read(%s, %d) = %v; want %q", c.path, c.limit, err, c.want)
		}
	}
	_, err := Read(filepath.Join(dir, "missing"), 10, "test")
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing file: %v; want fs.ErrNotExist naming the path", err)
	}
}
