package middleware

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ServiceRetryDefault is how the AWS SDK for Go v2 retries one service's calls where that
// service's client sets its own standard-retryer options, instead of the SDK-wide 3 attempts and
// 50 ms transient base. Throttles use a 1 s base in every service.
type ServiceRetryDefault struct {
	Service       string        // SDK service ID, e.g. "DynamoDB"
	MaxAttempts   int           // attempts per call, the first included
	TransientBase time.Duration // base delay before retrying a transient failure or a timeout
	Source        string        // where the SDK sets it
}

//go:embed data/service_retry_defaults.csv
var serviceRetryCSV string

// serviceRetryDefaults is the embedded table, parsed once; a test parses it, so it cannot fail
// in a released build.
var serviceRetryDefaults = mustParseServiceRetryDefaults(serviceRetryCSV)

func mustParseServiceRetryDefaults(data string) []ServiceRetryDefault {
	rows, err := parseServiceRetryDefaults("data/service_retry_defaults.csv", data)
	if err != nil {
		panic(err)
	}
	return rows
}

// ServiceRetryDefaults returns the services whose SDK clients retry with their own defaults,
// from the embedded table data/service_retry_defaults.csv. Tollgate applies each row to that
// service's calls unless Config.Policy sets MaxAttempts or Backoff.TransientBase itself.
func ServiceRetryDefaults() []ServiceRetryDefault {
	return append([]ServiceRetryDefault(nil), serviceRetryDefaults...)
}

// parseServiceRetryDefaults reads a table with the header service,max_attempts,transient_base,source.
// Errors name the file, the line and the field.
func parseServiceRetryDefaults(name, data string) ([]ServiceRetryDefault, error) {
	r := csv.NewReader(strings.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("middleware: %s: %w", name, err)
	}
	want := []string{"service", "max_attempts", "transient_base", "source"}
	if strings.Join(header, ",") != strings.Join(want, ",") {
		return nil, fmt.Errorf("middleware: %s:1: header %q, want %q", name, strings.Join(header, ","), strings.Join(want, ","))
	}
	var out []ServiceRetryDefault
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("middleware: %s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(want) {
			return nil, fmt.Errorf("middleware: %s:%d: %d fields, want %d (%s)", name, line, len(rec), len(want), strings.Join(want, ","))
		}
		row := ServiceRetryDefault{Service: strings.TrimSpace(rec[0]), Source: strings.TrimSpace(rec[3])}
		if row.Service == "" {
			return nil, fmt.Errorf("middleware: %s:%d: field \"service\": empty", name, line)
		}
		if prev, dup := seen[strings.ToLower(row.Service)]; dup {
			return nil, fmt.Errorf("middleware: %s:%d: field \"service\": %q already on line %d", name, line, row.Service, prev)
		}
		seen[strings.ToLower(row.Service)] = line
		if row.MaxAttempts, err = strconv.Atoi(strings.TrimSpace(rec[1])); err != nil || row.MaxAttempts < 1 {
			return nil, fmt.Errorf("middleware: %s:%d: field \"max_attempts\": %q is not a whole number ≥ 1", name, line, rec[1])
		}
		if row.TransientBase, err = time.ParseDuration(strings.TrimSpace(rec[2])); err != nil || row.TransientBase <= 0 {
			return nil, fmt.Errorf("middleware: %s:%d: field \"transient_base\": %q is not a positive duration such as 25ms", name, line, rec[2])
		}
		if row.Source == "" {
			return nil, fmt.Errorf("middleware: %s:%d: field \"source\": empty (say where the SDK sets it)", name, line)
		}
		out = append(out, row)
	}
}
