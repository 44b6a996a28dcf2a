package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"testing"
	"time"
)

// BenchmarkNativeRead reads the native format; one op is one record.
func BenchmarkNativeRead(b *testing.B) {
	data := encodeJSONL(genRecords(100000, 1))
	b.Run("tollgate", func(b *testing.B) {
		src := bytes.NewReader(data)
		r := NewReader(src, "bench.jsonl")
		var rec Record
		b.SetBytes(int64(len(data)) / 100000)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			err := r.Read(&rec)
			if err == io.EOF {
				src.Reset(data)
				r.Reset(src, "bench.jsonl")
				err = r.Read(&rec)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	// Baseline: encoding/json into a struct with the same fields, same lines.
	b.Run("baseline=encoding-json", func(b *testing.B) {
		lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
		var v struct {
			Time      string  `json:"time"`
			Service   string  `json:"service"`
			Operation string  `json:"operation"`
			Region    string  `json:"region"`
			Resource  string  `json:"resource"`
			Key       string  `json:"key"`
			Outcome   string  `json:"outcome"`
			ErrorCode string  `json:"error_code"`
			Status    int     `json:"status"`
			Latency   float64 `json:"latency_ms"`
			Units     int     `json:"units"`
			Client    string  `json:"client"`
		}
		b.SetBytes(int64(len(data)) / 100000)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			v = struct {
				Time      string  `json:"time"`
				Service   string  `json:"service"`
				Operation string  `json:"operation"`
				Region    string  `json:"region"`
				Resource  string  `json:"resource"`
				Key       string  `json:"key"`
				Outcome   string  `json:"outcome"`
				ErrorCode string  `json:"error_code"`
				Status    int     `json:"status"`
				Latency   float64 `json:"latency_ms"`
				Units     int     `json:"units"`
				Client    string  `json:"client"`
			}{}
			if err := json.Unmarshal(lines[i%len(lines)], &v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// BenchmarkNativeWrite writes the native format; one op is one record.
func BenchmarkNativeWrite(b *testing.B) {
	recs := genRecords(10000, 1)
	b.Run("tollgate", func(b *testing.B) {
		w := NewWriter(io.Discard)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := w.Write(&recs[i%len(recs)]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("baseline=encoding-json", func(b *testing.B) {
		type jsonRecord struct {
			Time      time.Time `json:"time"`
			Service   string    `json:"service"`
			Operation string    `json:"operation"`
			Region    string    `json:"region,omitempty"`
			Resource  string    `json:"resource,omitempty"`
			Key       string    `json:"key,omitempty"`
			Outcome   string    `json:"outcome"`
			ErrorCode string    `json:"error_code,omitempty"`
			Status    int       `json:"status,omitempty"`
			Latency   float64   `json:"latency_ms,omitempty"`
			Units     int       `json:"units,omitempty"`
			Client    string    `json:"client,omitempty"`
		}
		enc := json.NewEncoder(io.Discard)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			r := &recs[i%len(recs)]
			err := enc.Encode(jsonRecord{r.Time, r.Service, r.Operation, r.Region, r.Resource, r.Key, string(r.Outcome),
				r.ErrorCode, r.Status, float64(r.Latency) / 1e6, r.Units, r.Client})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// s3BenchLog returns n access log lines like AWS's examples, with varying keys and times.
func s3BenchLog(n int) []byte {
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, `79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 [06/Feb/2019:00:%02d:%02d +0000] 192.0.2.3 arn:aws:iam::111122223333:user/alice 3E57427F3EXAMPLE REST.GET.OBJECT photos/2019/%03d/puppy%%20%d.jpg "GET /amzn-s3-demo-bucket1/photos/2019/%03d/puppy%%20%d.jpg HTTP/1.1" 200 - 2662992 3462992 %d 63 "-" "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.24.1" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSv1.2 - -`+"\n",
			i/60%60, i%60, i%100, i%1000, i%100, i%1000, 10+i%90)
	}
	return buf.Bytes()
}

// BenchmarkS3AccessLogParse parses S3 server access log lines; one op is one line.
func BenchmarkS3AccessLogParse(b *testing.B) {
	data := s3BenchLog(10000)
	lineLen := int64(len(data) / 10000)
	b.Run("tollgate", func(b *testing.B) {
		src := bytes.NewReader(data)
		r := NewS3AccessLogReader(src, "bench.log")
		var rec Record
		b.SetBytes(lineLen)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			err := r.Read(&rec)
			if err == io.EOF {
				src.Reset(data)
				r.lines.reset(src, "bench.log")
				err = r.Read(&rec)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	// Baseline: the regular expression AWS's documentation suggests for Athena, splitting the
	// same lines into fields (no conversion at all).
	b.Run("baseline=regexp-split", func(b *testing.B) {
		re := regexp.MustCompile(`^(\S+) (\S+) \[([^\]]*)\] (\S+) (\S+) (\S+) (\S+) (\S+) ("[^"]*"|-) (-|[0-9]*) (\S+) (\S+) (\S+) (\S+) (\S+) ("[^"]*"|-) ("[^"]*"|-) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)(.*)$`)
		lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
		b.SetBytes(lineLen)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if m := re.FindSubmatchIndex(lines[i%len(lines)]); m == nil {
				b.Fatal("no match")
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
