package trace

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkInOrder is the cost of reading a sorted native trace through InOrder, against the
// baseline of reading it directly (same data, same reader); one op is one record. Compare
// ns/op: InOrder copies each record in and out of its ring.
func BenchmarkInOrder(b *testing.B) {
	data := encodeJSONL(genRecords(100000, 1))
	for _, wrap := range []bool{false, true} {
		name := "baseline=reader"
		if wrap {
			name = "reader+InOrder"
		}
		b.Run(name, func(b *testing.B) {
			var rec Record
			open := func() Source {
				r := NewReader(bytes.NewReader(data), "bench.jsonl")
				if wrap {
					return InOrder(r, 0, 0)
				}
				return r
			}
			src := open()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				err := src.Read(&rec)
				if err == io.EOF {
					src = open()
					err = src.Read(&rec)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
