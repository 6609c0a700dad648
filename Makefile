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
# make test runs on moto unless EMULATOR is given: everything landed today
# was verified on moto; on LocalStack the kill-point end-to-end test does
# not pass yet (docs/testing.md, "Emulators").
test:
	EMULATOR=$(if $(filter file,$(origin EMULATOR)),moto,$(EMULATOR)) ./infra/scripts/test.sh

## contract: schemathesis against docs/openapi.yaml and a local stack, three
## auth modes (docs/testing.md, Contract test); also the last step of make test
contract:
	./infra/scripts/with-emulator.sh ./infra/contract/run.sh

## bench: every measurement of infra/bench, written to docs/benchmarks.md
## and docs/benchmarks.json (README, Benchmarks); BENCH=<regexp> also runs
## the Go benchmarks
bench:
	./infra/scripts/bench.sh full

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
	test -z "$$(gofmt -l cmd functions shared infra)"
	cfn-lint template.yaml

clean:
	rm -rf build .aws-sam

## fuzz: every fuzz target (go test -fuzz) for FUZZTIME each (default 30s);
## make test runs each for 3s. Crashers land in <pkg>/testdata/fuzz/.
.PHONY: fuzz
FUZZTIME ?= 30s
fuzz:
	FUZZTIME=$(FUZZTIME) ./infra/scripts/fuzz.sh

## docs: the API reference site (docs/openapi.yaml in Swagger UI) as a static
## folder, build/docs (DOCS_OUT overrides); make dev serves it at /docs
.PHONY: docs
DOCS_OUT ?= build/docs
docs:
	./infra/docs/build.sh "$(DOCS_OUT)"

## test-events: the events pipeline at full size against an emulator: 1,000
## messages across 10 conversations, stream to the EventBridge bus and to the
## webhook FIFO queue, worker and a receiver, with injected stream
## redeliveries and receiver 503s (make test runs it with 200; docs/events.md)
.PHONY: test-events
test-events:
	TOKENIM_EVENTS_MESSAGES=1000 ./infra/scripts/with-emulator.sh go test -count=1 -timeout 60m -run TestMessagesReachTheBusAndWebhookOnceInOrder -v ./functions/events/

## bench-quick: a small version of each measurement of make bench, in under
## 3 minutes (it rewrites docs/benchmarks.md and .json too)
.PHONY: bench-quick
bench-quick:
	./infra/scripts/bench.sh quick

## test-load: the concurrent load test (issue 21; docs/testing.md, "Load
## test"): 400 users, 600 sockets, sends over the machine's capacity, 10 %
## of sockets dropping; fails unless its four counts are 0. Under 10
## minutes. EMULATOR defaults to moto here; LOAD_ARGS go to infra/load.
.PHONY: test-load
test-load:
	EMULATOR=$(if $(filter file,$(origin EMULATOR)),moto,$(EMULATOR)) ./infra/scripts/load.sh $(LOAD_ARGS)
