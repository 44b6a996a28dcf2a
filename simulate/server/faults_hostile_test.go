package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/memtest"
)

// aliasBomb returns a YAML document whose "windows" list expands, through levels of aliases to
// aliases, to width^depth nodes.
func aliasBomb(width, depth int) string {
	var b strings.Builder
	b.WriteString("windows:\n  - &a0 [{service: ec2, duration: 1s, mode: error}]\n")
	for d := 1; d <= depth; d++ {
		fmt.Fprintf(&b, "  - &a%d [", d)
		for i := 0; i < width; i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", d-1)
		}
		b.WriteString("]\n")
	}
	return b.String()
}

// Hostile faults files: aliases that multiply work, files that are not faults files (whose
// content must not be quoted), files too large. Each is refused with file:line, quickly, in
// bounded memory.
func TestParseFaultsHostile(t *testing.T) {
	big := "windows:\n" + strings.Repeat("  - {service: ec2, duration: 1s, mode: error}\n", MaxFaultsFileBytes/40)
	cases := []struct {
		name, doc, want string
		mustNotQuote    string
	}{
		{"alias bomb", aliasBomb(10, 9), "server: f.yaml:", ""},
		{"password file", "root:$6$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n", `server: f.yaml:1: not a faults file`, "SECRETHASH"},
		{"config file", "[client]\npassword = SECRETPW\n", `server: f.yaml:1: not a faults file`, "SECRETPW"},
		{"key-value secrets", "token: SECRETTOKEN\n", `server: f.yaml:1: not a faults file`, "SECRETTOKEN"},
		{"unknown anchor", "windows: *SECRETANCHOR\n", `server: f.yaml: invalid YAML: unknown anchor`, "SECRETANCHOR"},
		{"too large", big, fmt.Sprintf("server: f.yaml: larger than %d bytes", MaxFaultsFileBytes), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			alloc := memtest.Allocated(func() { _, err = ParseFaults("f.yaml", []byte(c.doc)) })
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to start with %q", err, c.want)
			}
			if c.mustNotQuote != "" && strings.Contains(err.Error(), c.mustNotQuote) {
				t.Fatalf("the error quotes the file: %v", err)
			}
			// A tree of the document's own size is all the parser builds (a node is ~200 bytes).
			if limit := uint64(64<<20) + 300*uint64(len(c.doc)); alloc > limit {
				t.Fatalf("parsing allocated %d MB, more than %d MB", alloc>>20, limit>>20)
			}
			t.Logf("%s: %d bytes, %.1f MB allocated: %v", c.name, len(c.doc), float64(alloc)/(1<<20), err)
		})
	}
	if !strings.Contains(mustErr(t, aliasBomb(10, 9)), "aliases expand the file to more than") {
		t.Fatal("the alias bomb is not reported as one")
	}
	// LoadFaults does not read more of a huge file than the limit.
	path := filepath.Join(t.TempDir(), "huge.yaml")
	if err := os.WriteFile(path, []byte(big+big), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFaults(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("LoadFaults(huge) = %v", err)
	}
}

func mustErr(t *testing.T, doc string) string {
	t.Helper()
	_, err := ParseFaults("f.yaml", []byte(doc))
	if err == nil {
		t.Fatal("no error")
	}
	return err.Error()
}
