package sns_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/tokenim/tokenim/shared/aws/sns"
	"github.com/tokenim/tokenim/shared/awsclient"
	"github.com/tokenim/tokenim/shared/push"
	"github.com/tokenim/tokenim/shared/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSenderAgainstEmulator: the first push creates the endpoint and
// reports it, later pushes reuse it, a push to an endpoint SNS has
// disabled is push.ErrDeviceGone and deletes the endpoint, and
// DeleteEndpoint deletes one (idempotently).
func TestSenderAgainstEmulator(t *testing.T) {
	testenv.NeedAWS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	client := awssns.NewFromConfig(cfg)
	app, err := client.CreatePlatformApplication(ctx, &awssns.CreatePlatformApplicationInput{Name: aws.String(testenv.ID("fcm")), Platform: aws.String("GCM"),
		Attributes: map[string]string{"PlatformCredential": "test-server-key"}})
	if err != nil {
		t.Fatal(err)
	}
	s := sns.New(client, map[push.Platform]string{push.FCM: aws.ToString(app.PlatformApplicationArn)})
	d := push.Device{UserID: "bob", DeviceID: "pixel", Platform: push.FCM, Token: "fcm-" + testenv.ID("tok") + strings.Repeat("x", 40)}
	alert := push.Alert{Title: "alice", Body: "hi", Badge: 3, ThreadID: "dm:alice:bob", CollapseID: push.CollapseID("dm:alice:bob", 1), Data: map[string]string{"seq": "1"}}
	sent, err := s.Send(ctx, d, alert)
	if err != nil || !strings.Contains(sent.EndpointARN, ":endpoint/") {
		t.Fatalf("first push: %+v %v", sent, err)
	}
	d.EndpointARN = sent.EndpointARN
	if again, err := s.Send(ctx, d, alert); err != nil || again.EndpointARN != "" {
		t.Fatalf("second push: %+v %v", again, err)
	}
	if _, err := client.SetEndpointAttributes(ctx, &awssns.SetEndpointAttributesInput{EndpointArn: &d.EndpointARN, Attributes: map[string]string{"Enabled": "false"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(ctx, d, alert); !errors.Is(err, push.ErrDeviceGone) {
		t.Fatalf("push to a disabled endpoint: %v, want ErrDeviceGone", err)
	}
	// The disabled endpoint is deleted with the device.
	if _, err := client.GetEndpointAttributes(ctx, &awssns.GetEndpointAttributesInput{EndpointArn: &d.EndpointARN}); err == nil {
		t.Fatal("the disabled endpoint still exists")
	}
	// DeleteEndpoint (a device deleted): the endpoint goes; twice is fine.
	d2 := push.Device{UserID: "bob", DeviceID: "tablet", Platform: push.FCM, Token: "fcm-" + testenv.ID("tok2") + strings.Repeat("y", 40)}
	sent2, err := s.Send(ctx, d2, alert)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.DeleteEndpoint(ctx, sent2.EndpointARN); err != nil {
			t.Fatalf("delete endpoint: %v", err)
		}
	}
	if _, err := client.GetEndpointAttributes(ctx, &awssns.GetEndpointAttributesInput{EndpointArn: &sent2.EndpointARN}); err == nil {
		t.Fatal("the deleted endpoint still exists")
	}
	unset := push.Device{UserID: "bob", DeviceID: "iphone", Platform: push.APNs, Token: strings.Repeat("ab", 32)}
	if _, err := s.Send(ctx, unset, alert); !errors.Is(err, push.ErrRejected) {
		t.Fatalf("push to a platform not set up: %v, want ErrRejected", err)
	}
}

// TestMessage: each platform's payload carries the alert, the badge, the
// thread and collapse ids and the data; preview off carries no title.
func TestMessage(t *testing.T) {
	a := push.Alert{Title: "alice", Body: "hi", Badge: 2, ThreadID: "dm:alice:bob", CollapseID: "c0ffee", Data: map[string]string{"seq": "7"}}
	tests := []struct {
		platform push.Platform
		key      string
		want     []string
	}{
		{push.APNs, "APNS", []string{`"badge":2`, `"thread-id":"dm:alice:bob"`, `"title":"alice"`, `"body":"hi"`, `"seq":"7"`}},
		{push.APNsSandbox, "APNS_SANDBOX", []string{`"badge":2`}},
		{push.FCM, "GCM", []string{`"fcmV1Message"`, `"collapse_key":"c0ffee"`, `"notification_count":2`, `"seq":"7"`}},
	}
	for _, tc := range tests {
		t.Run(string(tc.platform), func(t *testing.T) {
			msg, err := sns.Message(tc.platform, a)
			if err != nil {
				t.Fatal(err)
			}
			var outer map[string]string
			if err := json.Unmarshal([]byte(msg), &outer); err != nil || outer["default"] != "hi" {
				t.Fatalf("outer %v %v", outer, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(outer[tc.key], w) {
					t.Errorf("%s payload %s lacks %s", tc.key, outer[tc.key], w)
				}
			}
		})
	}
	if _, err := sns.Message(push.Web, a); err == nil {
		t.Fatal("web has no SNS message")
	}
}
