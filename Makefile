# TokenIM. The two commands a newcomer needs: `make dev` and `make test`.
SHELL := /bin/bash
FUNCTIONS := $(notdir $(wildcard functions/*))
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags="-s -w"
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build $(GOFLAGS_LAMBDA)
export EMULATOR ?= localstack

.PHONY: build build-local dev test test-go bench lint docs-check clean credential signup contract

## build: every function's bootstrap for Lambda (linux/arm64) in build/<name>/
build:
	@for f in $(FUNCTIONS); do echo "build $$f"; $(LAMBDA_BUILD) -o build/$$f/bootstrap ./functions/$$f || exit 1; done

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR;
# functions/<name> is the logical id without "Function", lower-cased.
build-%Function:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(shell echo '$*' | tr 'A-Z' 'a-z')

## build-local: the same bootstraps for this machine, for the local stack
build-local:
	@for f in $(FUNCTIONS); do CGO_ENABLED=0 go build $(GOFLAGS_LAMBDA) -o .tokenim/bin/$$f/bootstrap ./functions/$$f || exit 1; done

## dev: the whole stack on this machine (see docs/local.md)
dev:
	./infra/scripts/dev.sh

## test: everything CI runs, from nothing: installs and starts the emulator
test:
	./infra/scripts/test.sh

## contract: schemathesis against docs/openapi.yaml and a local stack, three
## auth modes (docs/testing.md, Contract test); also the last step of make test
contract:
	./infra/scripts/with-emulator.sh ./infra/contract/run.sh

## bench: benchmarks with AWS request counts (see README, Benchmarks)
bench:
	./infra/scripts/bench.sh

## credential: a first admin credential for a deployed stack (README, First credential)
credential:
	@test -n "$(STACK)" || { echo "usage: make credential STACK=<stack name> [AWS_REGION=...]" >&2; exit 2; }
	@table=$$(aws cloudformation describe-stacks --stack-name "$(STACK)" \
	    --query "Stacks[0].Outputs[?OutputKey=='UsersTableName'].OutputValue" --output text) \
	  && test -n "$$table" && test "$$table" != None \
	  && go run ./infra/local/cmd/tokenim-admin credential -table "$$table" -name "make credential"

## signup: deliver a Cognito sign-up to the local stack's trigger (make dev
## running); SUB, NAME and EMAIL override the fixture's attributes. The REST
## URL is make dev's, read from its local.json (so TOKENIM_REST_ADDR is
## followed).
LOCAL_JSON = $(or $(TOKENIM_STATE),.tokenim)/local.json
signup:
	@test -f "$(LOCAL_JSON)" || { echo "make signup: no $(LOCAL_JSON): start make dev first" >&2; exit 2; }
	@mkdir -p .tokenim && python3 -c 'import json,os,sys; e=json.load(open("events/cognito-post-confirmation.json")); a=e["request"]["userAttributes"]; \
	  [a.__setitem__(k, os.environ[v]) for k, v in (("sub","SUB"),("name","NAME"),("email","EMAIL")) if os.environ.get(v)]; \
	  e["userName"]=a["sub"]; json.dump(e, open(".tokenim/signup-event.json","w"))'
	@url=$$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rest_url"])' "$(LOCAL_JSON)") && \
	  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws lambda invoke --endpoint-url "$$url" --region us-east-1 \
	  --function-name CognitoSignupFunction --payload fileb://.tokenim/signup-event.json .tokenim/signup-reply.json >/dev/null
	@echo "trigger replied (the event, unchanged):"; cat .tokenim/signup-reply.json; echo

lint:
	go mod tidy -diff
	go vet ./...
	test -z "$$(gofmt -l functions shared infra)"
	cfn-lint template.yaml

clean:
	rm -rf build .aws-sam
