package simulate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/internal/memtest"
	"github.com/tollgate/tollgate/simulate"
)

func TestEmbeddedScenariosParse(t *testing.T) {
	for _, name := range simulate.EmbeddedScenarios() {
		if _, _, err := simulate.EmbeddedScenario(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := simulate.EmbeddedScenario("nope"); err == nil {
		t.Error("unknown scenario: no error")
	}
}

// Errors in scenario files name the file, the line and the field.
func TestScenarioErrors(t *testing.T) {
	base := "name: x\nduration: 10s\ngroups:\n  - name: g\n    loop: open\n    rate: 10\n    operations:\n      - service: EC2\n        operation: DescribeInstances\n"
	for _, tc := range []struct {
		yaml string
		want string
	}{
		{strings.Replace(base, "duration: 10s", "duration: ten", 1), `s.yaml:2: field "duration": want a duration`},
		{strings.Replace(base, "rate: 10", "rate: -3", 1), `s.yaml:6: field "groups[0].rate": want a number >= 0`},
		{strings.Replace(base, "loop: open", "loop: sideways", 1), `s.yaml:5: field "groups[0].loop": want open or closed`},
		{strings.Replace(base, "    rate: 10\n", "    rate: 10\n    colour: red\n", 1), `s.yaml:7: field "groups[0].colour": unknown field`},
		{strings.Replace(base, "operation: DescribeInstances", "operation: DescribeInstances\n        weight: x", 1), `s.yaml:10: field "groups[0].operations[0].weight"`},
		{base + "strategies: [tollgate, magic]\n", `s.yaml:10: field "strategies[1]": unknown strategy "magic"`},
		{strings.Replace(base, "    rate: 10\n", "", 1), `field "groups[0].rate": an open-loop group needs a rate`},
		{"name: x\n", `field "duration": required`},
		{"name: [\n", `s.yaml:1: invalid YAML`},
		{"", `s.yaml: empty scenario file`},
		{base + "server:\n  rules: missing.yaml\n", `s.yaml:11: field "server.rules"`},
		{base + "server:\n  hints:\n    - {service: Lambda, header: Retry-After, after: 1500ms}\n", `s.yaml:12: field "server.hints[0].after": Retry-After in seconds says whole seconds`},
		{base + "server:\n  hints:\n    - {service: EC2, header: x-amz-retry-after, after: 1s, form: http-date}\n", `s.yaml:12: field "server.hints[0].form": x-amz-retry-after is written in milliseconds`},
		{base + "server:\n  hints:\n    - {service: EC2, header: Retry-After, after: 1s, form: weekly}\n", `s.yaml:12: field "server.hints[0].form": want seconds, http-date or milliseconds`},
		{base + "server:\n  hints:\n    - {header: Retry-After, after: 1s}\n", `s.yaml:12: field "server.hints[0].service": required`},
		{base + "server:\n  hints:\n    - {service: EC2, header: Retry-Later, after: 1s}\n", `s.yaml:12: field "server.hints[0].header"`},
	} {
		_, err := simulate.ParseScenario("s.yaml", []byte(tc.yaml), t.TempDir())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseScenario(%q):\n got %v\nwant %q", tc.yaml, err, tc.want)
			continue
		}
		var se *simulate.ScenarioError
		if !errors.As(err, &se) {
			t.Errorf("error %v is not a *ScenarioError", err)
		}
	}
}

// FuzzParseScenario parses arbitrary scenario files: never a panic, nothing invalid accepted,
// and bounded work whatever the aliases (seeds in testdata/fuzz/FuzzParseScenario include alias
// bombs): parsing allocates at most what MaxScenarioNodes nodes can make it, measured with
// runtime/metrics.
func FuzzParseScenario(f *testing.F) {
	f.Add([]byte("name: x\nduration: 10s\ngroups:\n  - name: g\n    loop: closed\n    workers: 2\n    operations:\n      - {service: S3, operation: GetObject, prefixes: [a/]}\n"))
	f.Add([]byte("duration: 1s\ngroups: []\n"))
	f.Add([]byte("duration: 1s\ngroups:\n  - &g {name: g, loop: open, rate: 1, operations: &o [{service: S3, operation: GetObject, prefixes: &p [a/, b/, c/]}, *o, *o]}\n  - *g\n  - *g\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s *simulate.Scenario
		var err error
		alloc := memtest.Allocated(func() { s, err = simulate.ParseScenario("fuzz.yaml", data, t.TempDir()) })
		if alloc > 512<<20 {
			t.Fatalf("parsing %d bytes allocated %d MiB", len(data), alloc>>20)
		}
		if err != nil {
			var se *simulate.ScenarioError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *ScenarioError", err)
			}
			return
		}
		if s.Duration <= 0 || len(s.Groups) == 0 {
			t.Fatalf("accepted an invalid scenario: %+v", s)
		}
		if _, err := simulate.Estimate(s, simulate.Options{}); err != nil {
			t.Fatalf("a parsed scenario cannot be estimated: %v", err)
		}
	})
}
