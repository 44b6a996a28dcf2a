package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestTableIsReproducibleAndBounded(t *testing.T) {
	var a, b, c bytes.Buffer
	printTable(&a, 1, 8)
	printTable(&b, 1, 8)
	printTable(&c, 2, 8)
	if a.String() != b.String() {
		t.Fatal("same seed printed different tables")
	}
	if a.String() == c.String() {
		t.Fatal("different seeds printed the same table")
	}
	out := a.String()
	for _, want := range []string{"throttled errors (base 1s)", "transient errors (base 50ms)", "decorrelated", "full", "equal", "none"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// 2 sections × (header + 8 rows).
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 6 && f[0] >= "1" && f[0] <= "8" {
			rows++
			// The no-jitter column equals the ceiling column.
			if f[1] != f[5] {
				t.Errorf("row %q: none (%s) differs from ceiling (%s)", line, f[5], f[1])
			}
		}
	}
	if rows != 16 {
		t.Errorf("%d attempt rows, want 16:\n%s", rows, out)
	}
}
