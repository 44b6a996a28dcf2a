package yamlbound

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestExpanded(t *testing.T) {
	cases := []struct {
		doc   string
		limit int64
		want  int64
		ok    bool
		line  int
	}{
		{"a: 1\nb: [1, 2]\n", 100, 7, true, 0},
		{"a: &x [1, 2]\nb: *x\nc: *x\n", 100, 15, true, 0},
		{"a: &x [1, 2, 3, 4]\nb: &y [*x, *x, *x, *x]\nc: &z [*y, *y, *y, *y]\n", 20, 0, false, 2},
	}
	for _, c := range cases {
		root, _, err := Decode([]byte(c.doc))
		if err != nil {
			t.Fatal(err)
		}
		n, line, ok := Expanded(root, c.limit)
		if ok != c.ok || (ok && n != c.want) || line != c.line {
			t.Errorf("Expanded(%q, %d) = %d, line %d, %v; want %d, line %d, %v", c.doc, c.limit, n, line, ok, c.want, c.line, c.ok)
		}
	}
}

func TestDecodeQuotesNothing(t *testing.T) {
	for _, doc := range []string{"a: *SECRET\n", "a: 'SECRET\n", "key: \"SECRET\n", "- `SECRET`\n\tx: y"} {
		_, _, err := Decode([]byte(doc))
		if err == nil {
			t.Fatalf("%q: no error", doc)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%q: error quotes the document: %v", doc, err)
		}
	}
	if _, _, err := Decode([]byte("# only a comment\n")); !errors.Is(err, io.EOF) {
		t.Errorf("empty document: %v, want io.EOF", err)
	}
}
