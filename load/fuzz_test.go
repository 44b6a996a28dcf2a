package load_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/load"
)

// FuzzParseMix: ParseMix never panics; what it accepts is a non-empty list of supported,
// distinct APIs with positive weights, and printing it back parses to the same list.
func FuzzParseMix(f *testing.F) {
	f.Add(load.DefaultMix)
	f.Add("s3:GetObject")
	f.Fuzz(func(t *testing.T, s string) {
		ops, err := load.ParseMix(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "load: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		if len(ops) == 0 {
			t.Fatal("accepted an empty mix")
		}
		supported := map[string]bool{}
		for _, api := range load.Operations() {
			supported[api] = true
		}
		var back []string
		seen := map[string]bool{}
		for _, op := range ops {
			if !supported[op.API()] || seen[op.API()] || !(op.Weight > 0) {
				t.Fatalf("accepted %+v from %q", op, s)
			}
			seen[op.API()] = true
			back = append(back, op.API()+"="+strconv.FormatFloat(op.Weight, 'g', -1, 64))
		}
		again, err := load.ParseMix(strings.Join(back, ","))
		if err != nil || len(again) != len(ops) {
			t.Fatalf("round trip of %q: %v, %v", s, again, err)
		}
		for i := range ops {
			if again[i] != ops[i] {
				t.Fatalf("round trip of %q: %+v != %+v", s, again[i], ops[i])
			}
		}
	})
}
