package trace

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
)

// The mapping tables are data files embedded in the package, each row with its source.

//go:embed s3_operations.csv
var s3OperationsCSV []byte

//go:embed event_sources.csv
var eventSourcesCSV []byte

// s3Op is how one S3 server access log operation maps to an API call.
type s3Op struct {
	operation       string // the SDK operation when the log line has a key (or always)
	bucketOperation string // the SDK operation when it has none; "" to use operation
	skip            string // a Reason when the log line is not a call of its own
}

type tables struct {
	s3Ops        map[string]s3Op
	s3OpPrefixes map[string]s3Op // "S3." for rows like "S3.*"
	eventSources map[string]string
}

var loadTables = sync.OnceValues(func() (*tables, error) {
	t := &tables{s3Ops: map[string]s3Op{}, s3OpPrefixes: map[string]s3Op{}, eventSources: map[string]string{}}
	err := readTable("s3_operations.csv", s3OperationsCSV,
		[]string{"log_operation", "operation", "bucket_operation", "skip", "source"}, func(row []string) error {
			op := s3Op{operation: row[1], bucketOperation: row[2], skip: row[3]}
			switch op.skip {
			case "":
				if op.operation == "" {
					return fmt.Errorf("operation is empty and skip is not set")
				}
			case ReasonPartOfOtherCall, ReasonNotAPICall:
			default:
				return fmt.Errorf("skip %q is not a known reason", op.skip)
			}
			if prefix, ok := strings.CutSuffix(row[0], "*"); ok {
				t.s3OpPrefixes[prefix] = op
			} else {
				t.s3Ops[row[0]] = op
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = readTable("event_sources.csv", eventSourcesCSV,
		[]string{"event_source", "service_id", "source"}, func(row []string) error {
			if row[1] == "" {
				return fmt.Errorf("service_id is empty")
			}
			t.eventSources[row[0]] = row[1]
			return nil
		})
	return t, err
})

// mustTables returns the embedded tables. They are checked by the package tests, so a
// failure here is a build defect.
func mustTables() *tables {
	t, err := loadTables()
	if err != nil {
		panic(err)
	}
	return t
}

func readTable(name string, data []byte, header []string, row func([]string) error) error {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = len(header)
	rows, err := cr.ReadAll()
	if err != nil {
		return fmt.Errorf("trace: embedded %s: %w", name, err)
	}
	if len(rows) == 0 || strings.Join(rows[0], ",") != strings.Join(header, ",") {
		return fmt.Errorf("trace: embedded %s: header must be %s", name, strings.Join(header, ","))
	}
	seen := map[string]bool{}
	for i, r := range rows[1:] {
		if r[len(r)-1] == "" {
			return fmt.Errorf("trace: embedded %s:%d: source is empty", name, i+2)
		}
		if seen[r[0]] {
			return fmt.Errorf("trace: embedded %s:%d: %s listed twice", name, i+2, r[0])
		}
		seen[r[0]] = true
		if err := row(r); err != nil {
			return fmt.Errorf("trace: embedded %s:%d: %w", name, i+2, err)
		}
	}
	return nil
}

// s3Operation looks up a log operation.
func (t *tables) s3Operation(logOp []byte) (s3Op, bool) {
	if op, ok := t.s3Ops[string(logOp)]; ok {
		return op, true
	}
	for prefix, op := range t.s3OpPrefixes {
		if bytes.HasPrefix(logOp, []byte(prefix)) {
			return op, true
		}
	}
	return s3Op{}, false
}
