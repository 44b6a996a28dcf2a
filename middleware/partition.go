package middleware

import (
	"reflect"
	"strings"
	"sync"
)

// Partition is the part of a call's input that AWS throttles separately: the Resource (S3 bucket,
// DynamoDB table, Lambda function, Kinesis stream, SQS queue URL) and, inside it, a Prefix (an
// S3 key prefix). Both are substrings of the input's own strings: computing a Partition does not
// copy them.
type Partition struct {
	Resource string
	Prefix   string
}

// A Partitioner finds the partition of an operation's input. service is the SDK service ID
// ("S3", "DynamoDB", ...), operation the operation name, input the operation's input struct
// (e.g. *s3.GetObjectInput). It returns the zero Partition when the input has none.
//
// tollgate's built-in partitioners cover S3, DynamoDB, Lambda, Kinesis and SQS without importing
// their service modules. For another service, write one that type-switches on its inputs and
// register it with Config.Partitioners:
//
//	func(service, op string, in any) middleware.Partition {
//		if in, ok := in.(*sfn.StartExecutionInput); ok && in.StateMachineArn != nil {
//			return middleware.Partition{Resource: *in.StateMachineArn}
//		}
//		return middleware.Partition{}
//	}
type Partitioner func(service, operation string, input any) Partition

// PrefixScheme says how an S3 object key becomes a partition prefix.
type PrefixScheme struct {
	// Segments keeps the key up to and including its Nth '/' (N = Segments): with 1,
	// "logs/2025/a.gz" → "logs/". A key with fewer separators is kept whole.
	Segments int
	// Chars keeps the first N characters instead (S3 partitions by key range, and '/' has no
	// special meaning to it). Used when Segments is 0.
	Chars int
}

// DefaultPrefixScheme keeps the first path segment of an S3 key.
var DefaultPrefixScheme = PrefixScheme{Segments: 1}

// Prefix returns the partition prefix of key under s, as a substring of key.
func (s PrefixScheme) Prefix(key string) string {
	switch {
	case s.Segments > 0:
		end := 0
		for n := 0; n < s.Segments; n++ {
			i := strings.IndexByte(key[end:], '/')
			if i < 0 {
				return key
			}
			end += i + 1
		}
		return key[:end]
	case s.Chars > 0:
		if len(key) <= s.Chars {
			return key
		}
		return key[:s.Chars]
	}
	return ""
}

// builtinPartitioner reads well-known input fields by name, through reflection with the field
// indexes cached per input type, so it needs none of the service modules and allocates nothing.
type builtinPartitioner struct {
	scheme PrefixScheme
	cache  sync.Map // reflect.Type → *inputFields
}

// inputFields are the indexes of the fields a partition is read from; -1 when absent.
type inputFields struct {
	resource int // Bucket, TableName, FunctionName, StreamName, QueueUrl
	key      int // S3 Key
	stream   int // Kinesis StreamARN, used when StreamName is empty
}

// resourceFields maps a service to the input fields naming its partitioned resource, in order.
var resourceFields = map[string][]string{
	"S3":       {"Bucket"},
	"DynamoDB": {"TableName"},
	"Lambda":   {"FunctionName"},
	"Kinesis":  {"StreamName"},
	"SQS":      {"QueueUrl"},
}

func (p *builtinPartitioner) fields(service string, t reflect.Type) *inputFields {
	if f, ok := p.cache.Load(t); ok {
		return f.(*inputFields)
	}
	f := &inputFields{resource: -1, key: -1, stream: -1}
	if t.Kind() == reflect.Struct {
		for _, name := range resourceFields[service] {
			if sf, ok := t.FieldByName(name); ok && sf.Type == stringPtr && len(sf.Index) == 1 {
				f.resource = sf.Index[0]
				break
			}
		}
		if service == "S3" {
			if sf, ok := t.FieldByName("Key"); ok && sf.Type == stringPtr && len(sf.Index) == 1 {
				f.key = sf.Index[0]
			}
		}
		if service == "Kinesis" {
			if sf, ok := t.FieldByName("StreamARN"); ok && sf.Type == stringPtr && len(sf.Index) == 1 {
				f.stream = sf.Index[0]
			}
		}
	}
	actual, _ := p.cache.LoadOrStore(t, f)
	return actual.(*inputFields)
}

var stringPtr = reflect.TypeFor[*string]()

func (p *builtinPartitioner) partition(service, _ string, input any) Partition {
	if _, known := resourceFields[service]; !known || input == nil {
		return Partition{}
	}
	v := reflect.ValueOf(input)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return Partition{}
	}
	v = v.Elem()
	f := p.fields(service, v.Type())
	var out Partition
	out.Resource = stringField(v, f.resource)
	if out.Resource == "" {
		out.Resource = stringField(v, f.stream)
	}
	if key := stringField(v, f.key); key != "" {
		out.Prefix = p.scheme.Prefix(key)
	}
	return out
}

func stringField(v reflect.Value, i int) string {
	if i < 0 {
		return ""
	}
	fv := v.Field(i)
	if fv.IsNil() {
		return ""
	}
	return fv.Elem().String()
}

// unitsOf returns the resource count an input asks for, for limiter rules charged by units (EC2
// RunInstances: MaxCount instances). 0 when the input has no count.
func unitsOf(service, operation string, input any) int {
	if service != "EC2" || operation != "RunInstances" || input == nil {
		return 0
	}
	v := reflect.ValueOf(input)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0
	}
	f := v.Elem().FieldByName("MaxCount")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() || f.Elem().Kind() != reflect.Int32 {
		return 0
	}
	return int(f.Elem().Int())
}
