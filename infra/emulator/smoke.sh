#!/usr/bin/env bash
# Exercise the emulator at $AWS_ENDPOINT_URL with the AWS CLI (v1) and print what it does for
# the calls TokenIM relies on. Used to fill docs/testing.md ("Emulator differences met").
#   infra/emulator/up && AWS_ENDPOINT_URL=http://127.0.0.1:4566 infra/emulator/smoke.sh
# Creates resources with a random suffix; exits non-zero if a call that must work fails.
set -euo pipefail

: "${AWS_ENDPOINT_URL:?set AWS_ENDPOINT_URL (see infra/emulator/up)}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}" # the v1 CLI reads only this one
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1
AWS=(aws --endpoint-url "$AWS_ENDPOINT_URL" --output text)
if ! command -v aws >/dev/null; then
  HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  AWS=("$HERE/../../.tokenim/localstack/venv/bin/aws" --endpoint-url "$AWS_ENDPOINT_URL" --output text)
fi
S="$(date +%s)$RANDOM"
T="smoke-$S"
fails=0

say() { printf '%-44s %s\n' "$1" "$2"; }
# must NAME CMD...: the call has to succeed; prints its (one-line) output
must() {
  local name=$1 out; shift
  if out=$("$@" 2>&1); then say "$name" "$(echo "$out" | tr '\n\t' '  ' | cut -c1-150)"
  else say "$name" "FAILED: $(echo "$out" | tr '\n' ' ' | cut -c1-250)"; fails=$((fails + 1)); fi
}
# observe NAME CMD...: record outcome, success or error
observe() {
  local name=$1 out; shift
  if out=$("$@" 2>&1); then say "$name" "ok: $(echo "$out" | tr '\n\t' '  ' | cut -c1-150)"
  else say "$name" "error: $(echo "$out" | grep -v '^$' | tr '\n' ' ' | cut -c1-250)"; fi
}

echo "== DynamoDB ($AWS_ENDPOINT_URL)"
must "CreateTable (GSI, PAY_PER_REQUEST)" "${AWS[@]}" dynamodb create-table --table-name "$T" \
  --attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
    AttributeName=gpk,AttributeType=S AttributeName=gsk,AttributeType=S \
  --key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
  --global-secondary-indexes 'IndexName=gsi1,KeySchema=[{AttributeName=gpk,KeyType=HASH},{AttributeName=gsk,KeyType=RANGE}],Projection={ProjectionType=ALL}' \
  --billing-mode PAY_PER_REQUEST --query 'TableDescription.[TableStatus,TableArn]'
must "wait table-exists" "${AWS[@]}" dynamodb wait table-exists --table-name "$T"
must "UpdateTimeToLive" "${AWS[@]}" dynamodb update-time-to-live --table-name "$T" \
  --time-to-live-specification Enabled=true,AttributeName=expiresAt
must "DescribeTimeToLive" "${AWS[@]}" dynamodb describe-time-to-live --table-name "$T"
must "PutItem" "${AWS[@]}" dynamodb put-item --table-name "$T" \
  --item '{"pk":{"S":"u#1"},"sk":{"S":"m#1"},"gpk":{"S":"g#1"},"gsk":{"S":"1"},"body":{"S":"hi"},"expiresAt":{"N":"4102444800"}}'
must "GetItem" "${AWS[@]}" dynamodb get-item --table-name "$T" --key '{"pk":{"S":"u#1"},"sk":{"S":"m#1"}}' \
  --query 'Item.body.S'
must "Query GSI" "${AWS[@]}" dynamodb query --table-name "$T" --index-name gsi1 \
  --key-condition-expression 'gpk = :g' --expression-attribute-values '{":g":{"S":"g#1"}}' --query 'Count'
observe "PutItem attribute_not_exists on existing" "${AWS[@]}" dynamodb put-item --table-name "$T" \
  --item '{"pk":{"S":"u#1"},"sk":{"S":"m#1"}}' --condition-expression 'attribute_not_exists(pk)'
observe "TransactWriteItems (1 failing condition)" "${AWS[@]}" dynamodb transact-write-items --transact-items \
  '[{"Put":{"TableName":"'"$T"'","Item":{"pk":{"S":"u#2"},"sk":{"S":"m#1"}}}},{"ConditionCheck":{"TableName":"'"$T"'","Key":{"pk":{"S":"u#1"},"sk":{"S":"m#1"}},"ConditionExpression":"attribute_not_exists(pk)"}}]'
must "TransactWriteItems (ok)" "${AWS[@]}" dynamodb transact-write-items --transact-items \
  '[{"Put":{"TableName":"'"$T"'","Item":{"pk":{"S":"u#2"},"sk":{"S":"m#1"}},"ConditionExpression":"attribute_not_exists(pk)"}},{"Update":{"TableName":"'"$T"'","Key":{"pk":{"S":"u#1"},"sk":{"S":"m#1"}},"UpdateExpression":"SET body = :b","ExpressionAttributeValues":{":b":{"S":"edited"}}}}]'
must "TransactGetItems" "${AWS[@]}" dynamodb transact-get-items --transact-items \
  '[{"Get":{"TableName":"'"$T"'","Key":{"pk":{"S":"u#1"},"sk":{"S":"m#1"}}}}]' --query 'Responses[0].Item.body.S'
must "BatchWriteItem (distinct keys)" "${AWS[@]}" dynamodb batch-write-item --request-items \
  '{"'"$T"'":[{"PutRequest":{"Item":{"pk":{"S":"p"},"sk":{"S":"1"}}}},{"PutRequest":{"Item":{"pk":{"S":"p"},"sk":{"S":"2"}}}},{"PutRequest":{"Item":{"pk":{"S":"p"},"sk":{"S":"3"}}}},{"PutRequest":{"Item":{"pk":{"S":"p"},"sk":{"S":"4"}}}}]}' \
  --query 'length(UnprocessedItems)'
observe "BatchWriteItem (duplicate key in batch)" "${AWS[@]}" dynamodb batch-write-item --request-items \
  '{"'"$T"'":[{"PutRequest":{"Item":{"pk":{"S":"d"},"sk":{"S":"1"},"v":{"S":"a"}}}},{"PutRequest":{"Item":{"pk":{"S":"d"},"sk":{"S":"1"},"v":{"S":"b"}}}}]}'
observe "  -> item d/1 afterwards" "${AWS[@]}" dynamodb get-item --table-name "$T" \
  --key '{"pk":{"S":"d"},"sk":{"S":"1"}}' --query 'Item.v.S'
# 4 items under pk=p; Limit=2 pages: the 2nd page is exactly full.
q() { "${AWS[@]}" dynamodb query --table-name "$T" --no-paginate --limit "$1" \
  --key-condition-expression 'pk = :p' --expression-attribute-values '{":p":{"S":"p"}}' \
  ${2:+--exclusive-start-key "$2"} --output json \
  --query '{n: Count, lek: LastEvaluatedKey}'; }
compact() { tr -d ' \n'; }
p1=$(q 2 | compact)
say "Query Limit=2 page1 (4 items)" "$p1"
lek1=$(echo "$p1" | sed -n 's/.*"lek":\(.*\)}$/\1/p')
p2=$(q 2 "$lek1" | compact)
say "Query Limit=2 page2 (exactly full, last)" "$p2"
lek2=$(echo "$p2" | sed -n 's/.*"lek":\(.*\)}$/\1/p')
if [[ -n "$lek2" && "$lek2" != null ]]; then say "Query Limit=2 page3" "$(q 2 "$lek2" | compact)"; fi
say "Query Limit=4 (== item count)" "$(q 4 | compact)"
say "Query Limit=5 (> item count)" "$(q 5 | compact)"
must "DeleteTable" "${AWS[@]}" dynamodb delete-table --table-name "$T" --query 'TableDescription.TableStatus'

echo "== SQS"
must "CreateQueue (DLQ)" "${AWS[@]}" sqs create-queue --queue-name "$T-dlq"
dlq=$("${AWS[@]}" sqs get-queue-url --queue-name "$T-dlq" --query QueueUrl)
say "GetQueueUrl (DLQ)" "$dlq"
dlq_arn=$("${AWS[@]}" sqs get-queue-attributes --queue-url "$dlq" --attribute-names QueueArn --query Attributes.QueueArn)
say "GetQueueAttributes QueueArn (DLQ)" "$dlq_arn"
must "CreateQueue (RedrivePolicy maxReceiveCount=1)" "${AWS[@]}" sqs create-queue --queue-name "$T" --attributes \
  '{"RedrivePolicy":"{\"deadLetterTargetArn\":\"'"$dlq_arn"'\",\"maxReceiveCount\":\"1\"}","VisibilityTimeout":"30"}'
q_url=$("${AWS[@]}" sqs get-queue-url --queue-name "$T" --query QueueUrl)
say "GetQueueUrl" "$q_url"
must "GetQueueAttributes RedrivePolicy" "${AWS[@]}" sqs get-queue-attributes --queue-url "$q_url" --attribute-names RedrivePolicy
must "SendMessageBatch (3)" "${AWS[@]}" sqs send-message-batch --queue-url "$q_url" --entries \
  Id=a,MessageBody=one Id=b,MessageBody=two Id=c,MessageBody=three --query 'length(Successful)'
recv=$("${AWS[@]}" sqs receive-message --queue-url "$q_url" --max-number-of-messages 10 --wait-time-seconds 2 \
  --attribute-names ApproximateReceiveCount --query 'Messages[].[ReceiptHandle,Body]')
say "ReceiveMessage (long poll 2s, max 10)" "$(echo "$recv" | awk '{print $2}' | sort | tr '\n' ' ')"
mapfile -t handles < <(echo "$recv" | awk '{print $1}')
must "ChangeMessageVisibility -> 0 (1st msg)" "${AWS[@]}" sqs change-message-visibility --queue-url "$q_url" \
  --receipt-handle "${handles[0]}" --visibility-timeout 0
must "DeleteMessageBatch (other 2)" "${AWS[@]}" sqs delete-message-batch --queue-url "$q_url" --entries \
  "Id=x,ReceiptHandle=${handles[1]}" "Id=y,ReceiptHandle=${handles[2]}" --query 'length(Successful)'
observe "ReceiveMessage again (receive count 2 > 1)" "${AWS[@]}" sqs receive-message --queue-url "$q_url" \
  --wait-time-seconds 2 --query 'Messages[].Body'
observe "  -> DLQ ReceiveMessage" "${AWS[@]}" sqs receive-message --queue-url "$dlq" --wait-time-seconds 2 \
  --query 'Messages[].Body'
t0=$(date +%s.%N)
"${AWS[@]}" sqs receive-message --queue-url "$q_url" --wait-time-seconds 3 >/dev/null
say "ReceiveMessage empty, WaitTimeSeconds=3" "returned after $(python3 -c "import sys,time;print(f'{time.time()-float(sys.argv[1]):.1f}s')" "$t0") (incl. CLI start)"
must "DeleteQueue x2" "${AWS[@]}" sqs delete-queue --queue-url "$q_url"
"${AWS[@]}" sqs delete-queue --queue-url "$dlq" >/dev/null

echo "== Secrets Manager"
must "CreateSecret" "${AWS[@]}" secretsmanager create-secret --name "$T/jwt" --secret-string '{"k":"v"}' --query ARN
must "GetSecretValue" "${AWS[@]}" secretsmanager get-secret-value --secret-id "$T/jwt" --query SecretString
observe "GetSecretValue (missing)" "${AWS[@]}" secretsmanager get-secret-value --secret-id "$T/none"
must "DeleteSecret (force)" "${AWS[@]}" secretsmanager delete-secret --secret-id "$T/jwt" \
  --force-delete-without-recovery --query Name

echo "== done: $fails failed"
((fails == 0))
