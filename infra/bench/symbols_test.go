package bench

import "testing"

// TestModuleOf: symbols are charged to their module, the standard library
// (runtime tables included) to one line.
func TestModuleOf(t *testing.T) {
	for sym, want := range map[string]string{
		"runtime.mheap_": "Go standard library, runtime and its tables",
		"go:func.*":      "Go standard library, runtime and its tables",
		"vendor/golang.org/x/net/idna.idnaValues":                                           "Go standard library, runtime and its tables",
		"net/http.(*Transport).roundTrip":                                                   "Go standard library, runtime and its tables",
		"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas.init.0":                      "github.com/aws/aws-sdk-go-v2/service/dynamodb",
		"type:*github.com/aws/aws-sdk-go-v2/service/sts.Client":                             "github.com/aws/aws-sdk-go-v2/service/sts",
		"github.com/aws/aws-sdk-go-v2/config.LoadDefaultConfig":                             "github.com/aws/aws-sdk-go-v2/config",
		"github.com/aws/aws-sdk-go-v2/aws/retry.(*Standard).RetryDelay":                     "github.com/aws/aws-sdk-go-v2",
		"github.com/tokenim/tokenim/shared/chat.(*Service).Send":                            "github.com/tokenim/tokenim",
		"slices.partitionCmpFunc[go.shape.struct { github.com/go-json-experiment/json.x }]": "Go standard library, runtime and its tables",
	} {
		if got := moduleOf(sym); got != want {
			t.Errorf("moduleOf(%q) = %q, want %q", sym, got, want)
		}
	}
}
