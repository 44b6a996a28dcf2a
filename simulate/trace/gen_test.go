package trace

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"time"
)

// genRecords returns n plausible records in time order, drawn from a seeded source: a mix of
// EC2, S3, DynamoDB and KMS calls, some throttled, keys from a fixed set of 500.
func genRecords(n int, seed uint64) []Record {
	rng := rand.New(rand.NewPCG(seed, 1))
	recs := make([]Record, n)
	t := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	keys := make([]string, 500)
	for i := range keys {
		keys[i] = fmt.Sprintf("logs/2025/03/%03d/part-%05d.gz", i%31, i)
	}
	for i := range recs {
		t = t.Add(time.Duration(rng.IntN(2000)) * time.Microsecond)
		recs[i] = genRecord(rng, t, keys)
	}
	return recs
}

func genRecord(rng *rand.Rand, t time.Time, keys []string) Record {
	r := Record{Time: t, Outcome: OutcomeSuccess, Status: 200, Client: "c" + string(rune('0'+rng.IntN(4)))}
	r.Latency = time.Duration(rng.IntN(200000)) * time.Microsecond
	switch rng.IntN(4) {
	case 0:
		r.Service, r.Operation, r.Region = "EC2", "DescribeInstances", "us-east-1"
		if rng.IntN(10) == 0 {
			r.Outcome, r.ErrorCode, r.Status = OutcomeThrottled, "RequestLimitExceeded", 503
		}
	case 1:
		r.Service, r.Operation, r.Region, r.Resource = "S3", "GetObject", "us-west-2", "my-bucket"
		r.Key = keys[rng.IntN(len(keys))]
		if rng.IntN(20) == 0 {
			r.Outcome, r.ErrorCode, r.Status = OutcomeThrottled, "SlowDown", 503
		}
	case 2:
		r.Service, r.Operation, r.Region, r.Resource = "DynamoDB", "PutItem", "eu-west-1", "orders"
		r.Units = 1
	default:
		r.Service, r.Operation, r.Region = "KMS", "Decrypt", "us-east-1"
		if rng.IntN(50) == 0 {
			r.Outcome, r.ErrorCode, r.Status = OutcomeThrottled, "ThrottlingException", 400
		}
	}
	return r
}

// encodeJSONL writes recs in the native format.
func encodeJSONL(recs []Record) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := range recs {
		if err := w.Write(&recs[i]); err != nil {
			panic(err)
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
