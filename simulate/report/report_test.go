package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/simulate"
	"github.com/tollgate/tollgate/simulate/report"
)

// Every format has a row per API under each strategy, and the row of an API run alone: the
// noisy-neighbour scenario, shortened.
func TestPerAPIRows(t *testing.T) {
	s, _, err := simulate.EmbeddedScenario("noisy-neighbour")
	if err != nil {
		t.Fatal(err)
	}
	s.Duration = 20 * time.Second
	c, err := simulate.Simulate(context.Background(), s, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range report.Formats {
		var b bytes.Buffer
		if err := report.Write(&b, format, c); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"EC2 DescribeInstances", "EC2 DescribeVolumes", "EC2 DescribeVolumes (alone)"} {
			if format == "json" {
				want = strings.TrimSuffix(want, " (alone)")
			}
			if n := strings.Count(out, want); n < len(c.Strategies) {
				t.Errorf("%s: %q appears %d times, want once per strategy at least (%d)", format, want, n, len(c.Strategies))
			}
		}
		if format != "json" {
			continue
		}
		var doc struct {
			Strategies []struct {
				Operations []struct {
					Name  string          `json:"name"`
					Alone json.RawMessage `json:"alone"`
				} `json:"operations"`
				Groups []struct {
					Operations []struct {
						Name string `json:"name"`
					} `json:"operations"`
				} `json:"groups"`
			} `json:"strategies"`
		}
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		for _, st := range doc.Strategies {
			if len(st.Operations) != 2 || len(st.Groups) != 1 || len(st.Groups[0].Operations) != 2 || st.Operations[1].Alone == nil {
				t.Errorf("json operations: %s", b.String()[:min(b.Len(), 400)])
				break
			}
		}
	}
}
