package load

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Resource names the load uses. Buckets, tables, keys and functions exist on first use in the
// emulator; against another endpoint they must exist (or the calls fail, which the summary shows).
// A scenario's operations name their own (resource, prefixes).
const (
	Bucket    = "tollgate-load"
	Table     = "tollgate-load"
	KMSKey    = "alias/tollgate-load"
	Function  = "tollgate-load"
	keyPrefix = "load/"
)

// clients are the SDK clients of one run, and what the setup phase created.
type clients struct {
	idle *idleConns

	ec2    *ec2.Client
	s3     *s3.Client
	ddb    *dynamodb.Client
	kms    *kms.Client
	lambda *lambda.Client
	sts    *sts.Client

	keys       int    // objects and items 0..keys-1 exist
	instanceID string // an instance to tag
	ciphertext []byte // a KMS ciphertext to decrypt
}

// target is what a call addresses: the S3 bucket and key prefix, the DynamoDB table, the Lambda
// function; an EC2 Describe call made without filter or pagination; a RunInstances' instances.
type target struct {
	bucket, prefix, table, function string
	unfiltered                      bool
	units                           int
}

// defaultTarget is what the mix's calls address.
var defaultTarget = target{bucket: Bucket, prefix: keyPrefix, table: Table, function: Function}

// operation is one API the load can drive. call makes one call; n is a random number the
// dispatcher drew, which picks the object, item or instance.
type operation struct {
	service, name string
	// setup prepares what call needs for a target (objects to get, an instance to tag); it
	// may be nil. It runs once per distinct setupKey.
	setup    func(ctx context.Context, c *clients, t target) error
	setupKey func(t target) string
	call     func(ctx context.Context, c *clients, t target, n int) error
}

var payload = bytes.Repeat([]byte("tollgate "), 128) // 1,152 bytes

func objectKey(t target, n, keys int) string { return t.prefix + "obj-" + strconv.Itoa(n%keys) }
func itemKey(n, keys int) string             { return "item#" + strconv.Itoa(n%keys) }

func objectsKey(t target) string { return "s3 " + t.bucket + "/" + t.prefix }
func itemsKey(t target) string   { return "dynamodb " + t.table }
func onceKey(target) string      { return "" }

func putObjects(ctx context.Context, c *clients, t target) error {
	for i := range c.keys {
		if _, err := c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(objectKey(t, i, c.keys)),
			Body: bytes.NewReader(payload)}); err != nil {
			return fmt.Errorf("load: setup: put s3://%s/%s: %w", t.bucket, objectKey(t, i, c.keys), err)
		}
	}
	return nil
}

func item(n, keys int) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: itemKey(n, keys)},
		"sk": &ddbtypes.AttributeValueMemberS{Value: "v1"},
	}
}

func putItems(ctx context.Context, c *clients, t target) error {
	for i := range c.keys {
		it := item(i, c.keys)
		it["payload"] = &ddbtypes.AttributeValueMemberB{Value: payload[:256]}
		if _, err := c.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.table), Item: it}); err != nil {
			return fmt.Errorf("load: setup: put item %s into table %s: %w", itemKey(i, c.keys), t.table, err)
		}
	}
	return nil
}

func discard(body io.ReadCloser) error {
	_, err := io.Copy(io.Discard, body)
	if cerr := body.Close(); err == nil {
		err = cerr
	}
	return err
}

func runInstance(ctx context.Context, c *clients, units int) (*ec2.RunInstancesOutput, error) {
	n := aws.Int32(int32(max(units, 1)))
	return c.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-0123456789abcdef0"),
		InstanceType: ec2types.InstanceTypeT3Micro, MinCount: n, MaxCount: n})
}

// operations are the APIs the load drives, by "service:Operation" (service in lower case).
var operations = map[string]operation{}

func init() {
	for _, op := range []operation{
		{service: "ec2", name: "DescribeInstances", call: func(ctx context.Context, c *clients, t target, _ int) error {
			// With MaxResults: paginated, so EC2's non-mutating bucket (100, 20/s); without
			// (unfiltered), the smaller unfiltered one.
			in := &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)}
			if t.unfiltered {
				in = &ec2.DescribeInstancesInput{}
			}
			_, err := c.ec2.DescribeInstances(ctx, in)
			return err
		}},
		{service: "ec2", name: "RunInstances", call: func(ctx context.Context, c *clients, t target, _ int) error {
			_, err := runInstance(ctx, c, t.units)
			return err
		}},
		{service: "ec2", name: "CreateTags", setupKey: onceKey,
			setup: func(ctx context.Context, c *clients, _ target) error {
				out, err := runInstance(ctx, c, 1)
				if err != nil {
					return fmt.Errorf("load: setup: run an instance to tag: %w", err)
				}
				c.instanceID = aws.ToString(out.Instances[0].InstanceId)
				return nil
			},
			call: func(ctx context.Context, c *clients, _ target, n int) error {
				_, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{c.instanceID},
					Tags: []ec2types.Tag{{Key: aws.String("load"), Value: aws.String(strconv.Itoa(n % 100))}}})
				return err
			}},
		{service: "s3", name: "GetObject", setup: putObjects, setupKey: objectsKey, call: func(ctx context.Context, c *clients, t target, n int) error {
			out, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(objectKey(t, n, c.keys))})
			if err != nil {
				return err
			}
			return discard(out.Body)
		}},
		{service: "s3", name: "HeadObject", setup: putObjects, setupKey: objectsKey, call: func(ctx context.Context, c *clients, t target, n int) error {
			_, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(objectKey(t, n, c.keys))})
			return err
		}},
		{service: "s3", name: "PutObject", call: func(ctx context.Context, c *clients, t target, n int) error {
			_, err := c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(objectKey(t, n, c.keys)),
				Body: bytes.NewReader(payload)})
			return err
		}},
		{service: "s3", name: "DeleteObject", call: func(ctx context.Context, c *clients, t target, n int) error {
			_, err := c.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(objectKey(t, n, c.keys))})
			return err
		}},
		{service: "s3", name: "ListObjectsV2", setup: putObjects, setupKey: objectsKey, call: func(ctx context.Context, c *clients, t target, _ int) error {
			_, err := c.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(t.bucket), Prefix: aws.String(t.prefix),
				MaxKeys: aws.Int32(20)})
			return err
		}},
		{service: "dynamodb", name: "GetItem", setup: putItems, setupKey: itemsKey, call: func(ctx context.Context, c *clients, t target, n int) error {
			_, err := c.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.table), Key: item(n, c.keys)})
			return err
		}},
		{service: "dynamodb", name: "PutItem", call: func(ctx context.Context, c *clients, t target, n int) error {
			it := item(n, c.keys)
			it["payload"] = &ddbtypes.AttributeValueMemberB{Value: payload[:256]}
			_, err := c.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.table), Item: it})
			return err
		}},
		{service: "dynamodb", name: "Query", setup: putItems, setupKey: itemsKey, call: func(ctx context.Context, c *clients, t target, n int) error {
			_, err := c.ddb.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(t.table),
				KeyConditionExpression: aws.String("pk = :p"),
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
					":p": &ddbtypes.AttributeValueMemberS{Value: itemKey(n, c.keys)},
				}})
			return err
		}},
		{service: "kms", name: "Encrypt", call: func(ctx context.Context, c *clients, _ target, _ int) error {
			_, err := c.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(KMSKey), Plaintext: payload[:64]})
			return err
		}},
		{service: "kms", name: "Decrypt", setupKey: onceKey,
			setup: func(ctx context.Context, c *clients, _ target) error {
				out, err := c.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(KMSKey), Plaintext: payload[:64]})
				if err != nil {
					return fmt.Errorf("load: setup: encrypt a ciphertext to decrypt: %w", err)
				}
				c.ciphertext = out.CiphertextBlob
				return nil
			},
			call: func(ctx context.Context, c *clients, _ target, _ int) error {
				_, err := c.kms.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: c.ciphertext})
				return err
			}},
		{service: "kms", name: "GenerateDataKey", call: func(ctx context.Context, c *clients, _ target, _ int) error {
			_, err := c.kms.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{KeyId: aws.String(KMSKey), NumberOfBytes: aws.Int32(32)})
			return err
		}},
		{service: "kms", name: "DescribeKey", call: func(ctx context.Context, c *clients, _ target, _ int) error {
			_, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(KMSKey)})
			return err
		}},
		{service: "lambda", name: "Invoke", call: func(ctx context.Context, c *clients, t target, n int) error {
			_, err := c.lambda.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(t.function),
				Payload: []byte(`{"n":` + strconv.Itoa(n%1000) + `}`)})
			return err
		}},
		{service: "lambda", name: "GetFunction", call: func(ctx context.Context, c *clients, t target, _ int) error {
			_, err := c.lambda.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(t.function)})
			return err
		}},
		{service: "sts", name: "GetCallerIdentity", call: func(ctx context.Context, c *clients, _ target, _ int) error {
			_, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}},
	} {
		operations[op.service+":"+op.name] = op
	}
}

// runSetups runs the setup of every (operation, target) once per distinct setup key.
func runSetups(ctx context.Context, c *clients, ops []operation, targets []target) error {
	done := map[string]bool{}
	for i, op := range ops {
		if op.setup == nil {
			continue
		}
		k := op.service + ":" + op.setupKey(targets[i])
		if done[k] {
			continue
		}
		done[k] = true
		if err := op.setup(ctx, c, targets[i]); err != nil {
			return err
		}
	}
	return nil
}

// Operations lists the APIs the load can drive, as "service:Operation", sorted.
func Operations() []string {
	out := make([]string, 0, len(operations))
	for k := range operations {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lookup finds an operation by service (any case) and operation name (exact, or any case).
func lookup(service, name string) (operation, bool) {
	if op, ok := operations[strings.ToLower(service)+":"+name]; ok {
		return op, true
	}
	for k, op := range operations {
		if strings.EqualFold(k, service+":"+name) {
			return op, true
		}
	}
	return operation{}, false
}
