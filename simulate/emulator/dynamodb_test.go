package emulator

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }
func sOf(av types.AttributeValue) string {
	if m, ok := av.(*types.AttributeValueMemberS); ok {
		return m.Value
	}
	return fmt.Sprintf("<%T>", av)
}

// The SDK validates x-amz-crc32 on every DynamoDB response (DisableValidateResponseChecksum is
// false by default), so every successful call here also proves the checksum is right.
func TestDynamoDBOperations(t *testing.T) {
	e := start(t, Options{Tables: map[string]TableSchema{"users": {HashKey: "id"}}})
	client := dynamodb.NewFromConfig(sdkConfig(e, "us-east-1"))
	ctx := context.Background()

	for i := range 5 {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String("orders"),
			Item: map[string]types.AttributeValue{
				"pk": s("customer#1"), "sk": s(fmt.Sprintf("order#%03d", i)), "total": n(10 * i),
				"lines": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), n(i)}},
			},
		})
		if err != nil {
			t.Fatalf("PutItem %d: %v", i, err)
		}
	}
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"),
		Item: map[string]types.AttributeValue{"pk": s("customer#2"), "sk": s("order#000")}}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}

	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String("orders"), ConsistentRead: aws.Bool(true),
		Key:                    map[string]types.AttributeValue{"pk": s("customer#1"), "sk": s("order#003")},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if total, ok := got.Item["total"].(*types.AttributeValueMemberN); !ok || total.Value != "30" {
		t.Errorf("GetItem total = %#v, want N 30", got.Item["total"])
	}
	if l, ok := got.Item["lines"].(*types.AttributeValueMemberL); !ok || len(l.Value) != 2 {
		t.Errorf("GetItem lines = %#v, want a list of 2", got.Item["lines"])
	}
	if got.ConsumedCapacity == nil || aws.ToFloat64(got.ConsumedCapacity.CapacityUnits) != 1 {
		t.Errorf("ConsumedCapacity = %+v, want 1 unit", got.ConsumedCapacity)
	}
	missing, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"),
		Key: map[string]types.AttributeValue{"pk": s("nobody"), "sk": s("x")}})
	if err != nil || missing.Item != nil {
		t.Errorf("GetItem of a missing item = %v, %v; want no item, no error", missing.Item, err)
	}

	// Query: sort-key condition, descending, paginated two at a time.
	var sks []string
	p := dynamodb.NewQueryPaginator(client, &dynamodb.QueryInput{
		TableName:                 aws.String("orders"),
		KeyConditionExpression:    aws.String("#p = :p AND begins_with(sk, :prefix)"),
		ExpressionAttributeNames:  map[string]string{"#p": "pk"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("customer#1"), ":prefix": s("order#00")},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(2),
	})
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("Query page: %v", err)
		}
		pages++
		for _, it := range page.Items {
			sks = append(sks, sOf(it["sk"]))
		}
	}
	want := "order#004 order#003 order#002 order#001 order#000"
	if strings.Join(sks, " ") != want || pages != 3 {
		t.Errorf("Query = %v in %d pages, want %s in 3", sks, pages, want)
	}
	between, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:              aws.String("orders"),
		KeyConditionExpression: aws.String("pk = :p AND sk BETWEEN :a AND :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":p": s("customer#1"), ":a": s("order#001"), ":b": s("order#002"),
		},
		ProjectionExpression: aws.String("sk"),
	})
	if err != nil {
		t.Fatalf("Query BETWEEN: %v", err)
	}
	if between.Count != 2 || len(between.Items[0]) != 1 || sOf(between.Items[0]["sk"]) != "order#001" {
		t.Errorf("Query BETWEEN = %d items %v, want order#001 and order#002 projected to sk", between.Count, between.Items)
	}

	// A declared schema, and conditional puts.
	put := func() error {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String("users"), Item: map[string]types.AttributeValue{"id": s("u1"), "name": s("Ada")},
			ConditionExpression: aws.String("attribute_not_exists(id)"),
		})
		return err
	}
	if err := put(); err != nil {
		t.Fatalf("conditional PutItem: %v", err)
	}
	var ccf *types.ConditionalCheckFailedException
	if err := put(); !errors.As(err, &ccf) {
		t.Errorf("second conditional PutItem: %v, want ConditionalCheckFailedException", err)
	}
	_, err = client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("users"),
		Key: map[string]types.AttributeValue{"pk": s("u1")}})
	if code, status, _ := apiErrorOf(t, err); code != "ValidationException" || status != http.StatusBadRequest {
		t.Errorf("GetItem with a key off the schema: (%q, %d), want (ValidationException, 400)", code, status)
	}
}

func TestDynamoDBThrottleDecodes(t *testing.T) {
	clock := newManualClock()
	e := start(t, Options{Clock: clock.Now, Rules: rulesWith(t, `
rules:
  - name: dynamodb-write
    service: DynamoDB
    operation: PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems
    rate: 1
    burst: 3
    partition: resource
    scope: shared
    source: test, shrunk from 40,000/s
`)})
	client := dynamodb.NewFromConfig(sdkConfig(e, "us-east-2"))
	put := func(table string) error {
		_, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{
			TableName: aws.String(table), Item: map[string]types.AttributeValue{"pk": s("a"), "sk": s("b")},
		})
		return err
	}
	for i := range 3 {
		if err := put("orders"); err != nil {
			t.Fatalf("put %d within the burst: %v", i, err)
		}
	}
	err := put("orders")
	code, status, id := apiErrorOf(t, err)
	if code != "ProvisionedThroughputExceededException" || status != http.StatusBadRequest || !uuidPattern.MatchString(id) {
		t.Errorf("throttle = (%q, %d, %q), want (ProvisionedThroughputExceededException, 400, a UUID)", code, status, id)
	}
	var pte *types.ProvisionedThroughputExceededException
	if !errors.As(err, &pte) || len(pte.ThrottlingReasons) != 1 ||
		aws.ToString(pte.ThrottlingReasons[0].Reason) != "TableWriteProvisionedThroughputExceeded" ||
		aws.ToString(pte.ThrottlingReasons[0].Resource) != "arn:aws:dynamodb:us-east-2:"+DefaultAccount+":table/orders" {
		t.Errorf("modeled exception = %+v, want ThrottlingReasons with the table ARN", pte)
	}
	// Buckets are per table.
	if err := put("invoices"); err != nil {
		t.Errorf("another table's bucket: %v", err)
	}
}

// TestDynamoDBCRC32 checks the header on a raw error response (the SDK checks successes).
func TestDynamoDBCRC32(t *testing.T) {
	e := start(t, Options{})
	req, _ := http.NewRequest(http.MethodPost, e.URL()+"/", strings.NewReader(`{"TableName": "orders", "Key": `))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "SerializationException") {
		t.Errorf("truncated JSON: %d %s, want 400 SerializationException", resp.StatusCode, body)
	}
	if got, want := resp.Header.Get("x-amz-crc32"), strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10); got != want {
		t.Errorf("x-amz-crc32 = %q, want %q", got, want)
	}
}
