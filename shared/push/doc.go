// Package push is TokenIM's offline push: the devices a user registers
// (APNs, FCM, Web Push), the user's push preferences, and the decision of
// whom to push what when a chat message reaches a recipient with no live
// WebSocket (docs/push.md). It imports no AWS SDK: storage and the
// platform senders are ports (store.go, sender.go) implemented by
// shared/aws/dynamo, shared/aws/sns and shared/aws/webpush, and by the
// fakes in shared/memstore and pushtest.
package push
