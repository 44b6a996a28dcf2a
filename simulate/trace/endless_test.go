package trace

import (
	"io"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/memtest"
)

// zeros is an endless stream of NUL bytes, as /dev/zero reads.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// A reader given an input that never ends a line (/dev/zero, a binary file) gives up on it
// after a bound, in bounded memory, instead of reading or holding it to its end.
func TestReadersGiveUpOnEndlessLines(t *testing.T) {
	header := "time,service,operation,outcome\n"
	for _, c := range []struct {
		name string
		src  func() Source
		want string
	}{
		{"jsonl", func() Source { return NewReader(zeros{}, "zero") }, "trace: zero:1: line longer than 67108864 bytes and still going: rest of the file skipped"},
		{"s3 access log", func() Source { return NewS3AccessLogReader(zeros{}, "zero") }, "trace: zero:1: line longer than 67108864 bytes and still going"},
		{"csv header", func() Source { return NewCSVReader(zeros{}, "zero") }, "trace: zero:1: line longer than 1048576 bytes: rest of the file skipped"},
		{"csv row", func() Source { return NewCSVReader(io.MultiReader(strings.NewReader(header), zeros{}), "zero") }, "trace: zero:2: line longer than 1048576 bytes"},
	} {
		var skipped []*InputError
		alloc := memtest.Allocated(func() { _, skipped = readAll(t, c.src()) })
		if len(skipped) != 1 || !strings.HasPrefix(skipped[0].Error(), c.want) {
			t.Errorf("%s: skipped %v, want one %q", c.name, skipped, c.want)
		}
		if alloc > 16<<20 {
			t.Errorf("%s: allocated %d MiB", c.name, alloc>>20)
		}
		t.Logf("%s: allocated %.1f MiB", c.name, float64(alloc)/(1<<20))
	}
}
