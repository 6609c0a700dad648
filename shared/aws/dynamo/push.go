package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	mathrand "math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tokenim/tokenim/shared/push"
)

// Push stores devices, token ownership, push preferences and push claims
// in the users table (docs/data-model.md, "Push"). It is built apart from
// Stores (NewPush) so only the functions that push hold it.
type Push struct{ base }

var (
	_ push.DeviceStore = (*Push)(nil)
	_ push.PrefStore   = (*Push)(nil)
)

// NewPush returns the adapter over client and the users table of t.
func NewPush(client *dynamodb.Client, t Tables) *Push { return &Push{base{client: client, t: t}} }

func devicePK(userID string) string { return "DEV#" + userID }
func ownerPK(hash string) string    { return "PTOK#" + hash }
func prefPK(userID string) string   { return "PREF#" + userID }
func claimPK(userID string) string  { return "PUSHED#" + userID }

const (
	deviceSKPrefix = "D#"
	ownerSK        = "PTOK"
	prefUserSK     = "USER"
	prefConvPrefix = "C#"
)

type deviceItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	Platform    string `dynamodbav:"platform"`
	Token       string `dynamodbav:"token"`
	TokenHash   string `dynamodbav:"token_hash"`
	P256dh      string `dynamodbav:"p256dh,omitempty"`
	Auth        string `dynamodbav:"auth,omitempty"`
	EndpointARN string `dynamodbav:"endpoint_arn,omitempty"`
	Locale      string `dynamodbav:"locale,omitempty"`
	AppVersion  string `dynamodbav:"app_version,omitempty"`
	CreatedAt   int64  `dynamodbav:"created_at"`
	UpdatedAt   int64  `dynamodbav:"updated_at"`
	// Reg is the registration that made the device the token's owner
	// (PutDevice); its owner item holds the same.
	Reg string `dynamodbav:"reg,omitempty"`
}

func toDeviceItem(d push.Device) deviceItem {
	it := deviceItem{PK: devicePK(d.UserID), SK: deviceSKPrefix + d.DeviceID, Platform: string(d.Platform), Token: d.Token, TokenHash: d.TokenHash(),
		EndpointARN: d.EndpointARN, Locale: d.Locale, AppVersion: d.AppVersion, CreatedAt: d.CreatedAt.UnixMilli(), UpdatedAt: d.UpdatedAt.UnixMilli()}
	if d.Keys != nil {
		it.P256dh, it.Auth = d.Keys.P256dh, d.Keys.Auth
	}
	return it
}

func (it deviceItem) device() push.Device {
	d := push.Device{UserID: it.PK[len("DEV#"):], DeviceID: it.SK[len(deviceSKPrefix):], Platform: push.Platform(it.Platform), Token: it.Token,
		EndpointARN: it.EndpointARN, Locale: it.Locale, AppVersion: it.AppVersion,
		CreatedAt: time.UnixMilli(it.CreatedAt).UTC(), UpdatedAt: time.UnixMilli(it.UpdatedAt).UTC()}
	if it.P256dh != "" || it.Auth != "" {
		d.Keys = &push.WebKeys{P256dh: it.P256dh, Auth: it.Auth}
	}
	return d
}

// PutDevice: Query the user's devices (consistent; the limit and the
// device replaced), then, per attempt, GetItem the token's owner item
// (consistent) and one transaction: the owner item (conditional on the
// owner read: nobody, or that device and registration), the device, and
// the previous holder's device deleted if it still holds the token under
// that registration (else a ConditionCheck that it does not). A device
// holds a token only in the transaction that makes it the owner, so two
// users registering one token at once leave exactly one holding it (the
// loser's transaction is cancelled; it reads the new owner and takes the
// token over from it, as a later registration would). 1 Query + 1 GetItem
// + a 2-3 item transaction (4-6 WCU), + 1 DeleteItem when a device's token
// changes. Two concurrent registrations of new devices may pass the limit
// by one; the limit bounds cost, not correctness.
func (db *Push) PutDevice(ctx context.Context, d push.Device, max int) (push.PutResult, error) {
	mine, err := db.ListDevices(ctx, d.UserID)
	if err != nil {
		return push.PutResult{}, err
	}
	var old *push.Device
	for i := range mine {
		if mine[i].DeviceID == d.DeviceID {
			old = &mine[i]
		}
	}
	if old == nil && len(mine) >= max {
		return push.PutResult{}, push.DeviceLimitError(max)
	}
	res := push.PutResult{Created: old == nil}
	h := d.TokenHash()
	me := push.DeviceRef{UserID: d.UserID, DeviceID: d.DeviceID}
	if old != nil {
		d.CreatedAt = old.CreatedAt
		if old.TokenHash() == h && d.EndpointARN == "" {
			d.EndpointARN = old.EndpointARN // the same token keeps its endpoint
		}
	}
	item, err := attributevalue.MarshalMap(toDeviceItem(d))
	if err != nil {
		return push.PutResult{}, wrap("encode device", err)
	}
	// A prior holder's device that no longer holds the token is checked,
	// not deleted: its state decides which of the two a transaction has.
	check := false
	for attempt := range maxTakeAttempts {
		if attempt > 0 {
			// Transactions that conflict may all be cancelled: a short
			// random pause lets one of them through.
			time.Sleep(time.Duration(mathrand.IntN(20*attempt)+1) * time.Millisecond)
		}
		prev, prevReg, err := db.tokenOwner(ctx, h)
		if err != nil {
			return push.PutResult{}, err
		}
		taken, retry, err := db.takeToken(ctx, h, me, item, prev, prevReg, check)
		if err != nil {
			return push.PutResult{}, err
		}
		if retry != "" {
			check = retry == "holder" && !check
			continue
		}
		res.TakenFrom = taken
		if old != nil {
			if oh := old.TokenHash(); oh != h {
				if err := db.deleteOwner(ctx, oh, me, ""); err != nil {
					return push.PutResult{}, err
				}
			}
		}
		res.Device = d
		return res, nil
	}
	return push.PutResult{}, wrap("put device", fmt.Errorf("the token's owner kept changing (%d attempts)", maxTakeAttempts))
}

// maxTakeAttempts bounds PutDevice's ownership transactions: each
// cancelled one means another registration of the token went through (or
// conflicted), so concurrent registrations all finish well within it.
const maxTakeAttempts = 20

// tokenOwner reads a token's owner item: the device and its registration
// ("" for an item written before registrations existed).
func (db *Push) tokenOwner(ctx context.Context, hash string) (*push.DeviceRef, string, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: key(ownerPK(hash), ownerSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, "", wrap("read token owner", err)
	}
	reg, _ := out.Item["reg"].(*types.AttributeValueMemberS)
	if reg == nil {
		return refOf(out.Item), "", nil
	}
	return refOf(out.Item), reg.Value, nil
}

// takeToken runs the ownership transaction (PutDevice). retry is "owner"
// when the owner changed since it was read, "holder" when the previous
// holder's device is not in the state assumed (check says which).
func (db *Push) takeToken(ctx context.Context, hash string, me push.DeviceRef, device map[string]types.AttributeValue, prev *push.DeviceRef, prevReg string, check bool) (*push.DeviceRef, string, error) {
	b := make([]byte, 8)
	rand.Read(b)
	reg := hex.EncodeToString(b)
	owner := key(ownerPK(hash), ownerSK)
	owner["user_id"], owner["device_id"], owner["reg"] = str(me.UserID), str(me.DeviceID), str(reg)
	dev := maps.Clone(device)
	dev["reg"] = str(reg)
	vals := map[string]types.AttributeValue{}
	ownerCond := "attribute_not_exists(pk)"
	holds := "token_hash = :h AND attribute_not_exists(reg)"
	if prevReg != "" {
		holds = "token_hash = :h AND reg = :pr"
		vals[":pr"] = str(prevReg)
	}
	if prev != nil {
		ownerCond = "user_id = :pu AND device_id = :pd AND " + strings.Replace(holds, "token_hash = :h AND ", "", 1)
		vals[":pu"], vals[":pd"] = str(prev.UserID), str(prev.DeviceID)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{TableName: &db.t.Users, Item: owner, ConditionExpression: &ownerCond, ExpressionAttributeValues: vals}},
		{Put: &types.Put{TableName: &db.t.Users, Item: dev}},
	}
	var taken *push.DeviceRef
	if prev != nil && *prev != me {
		taken = prev
		hv := map[string]types.AttributeValue{":h": str(hash)}
		if prevReg != "" {
			hv[":pr"] = str(prevReg)
		}
		k := key(devicePK(prev.UserID), deviceSKPrefix+prev.DeviceID)
		if check {
			items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: &db.t.Users, Key: k,
				ConditionExpression: aws.String("attribute_not_exists(pk) OR NOT (" + holds + ")"), ExpressionAttributeValues: hv}})
		} else {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &db.t.Users, Key: k,
				ConditionExpression: aws.String(holds), ExpressionAttributeValues: hv}})
		}
	}
	if len(vals) == 0 {
		items[0].Put.ExpressionAttributeValues = nil
	}
	_, err := db.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err == nil {
		return taken, "", nil
	}
	reasons := cancelReasons(err)
	for i, r := range reasons {
		switch aws.ToString(r.Code) {
		case "TransactionConflict":
			return nil, "owner", nil // another registration of the token is under way
		case "ConditionalCheckFailed":
			if i == 2 {
				return nil, "holder", nil
			}
			return nil, "owner", nil
		}
	}
	return nil, "", wrap("take token", err)
}

func refOf(m map[string]types.AttributeValue) *push.DeviceRef {
	u, _ := m["user_id"].(*types.AttributeValueMemberS)
	d, _ := m["device_id"].(*types.AttributeValueMemberS)
	if u == nil || d == nil {
		return nil
	}
	return &push.DeviceRef{UserID: u.Value, DeviceID: d.Value}
}

// deleteOwner deletes a token's owner item while it names ref (and, when
// reg is known, that registration: a registration of the same device
// made since keeps its item).
func (db *Push) deleteOwner(ctx context.Context, hash string, ref push.DeviceRef, reg string) error {
	cond := "user_id = :u AND device_id = :d"
	vals := map[string]types.AttributeValue{":u": str(ref.UserID), ":d": str(ref.DeviceID)}
	if reg != "" {
		cond += " AND reg = :r"
		vals[":r"] = str(reg)
	}
	_, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Users, Key: key(ownerPK(hash), ownerSK),
		ConditionExpression: &cond, ExpressionAttributeValues: vals})
	if err != nil && !IsConditionFailed(err) {
		return wrap("delete token owner", err)
	}
	return nil
}

// ListDevices: one Query (consistent), at most MaxDevicesPerUser items.
func (db *Push) ListDevices(ctx context.Context, userID string) ([]push.Device, error) {
	p := dynamodb.NewQueryPaginator(db.client, &dynamodb.QueryInput{TableName: &db.t.Users, ConsistentRead: aws.Bool(true),
		KeyConditionExpression:    aws.String("pk = :pk AND begins_with(sk, :d)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(devicePK(userID)), ":d": str(deviceSKPrefix)}})
	out := []push.Device{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, wrap("query devices", err)
		}
		var items []deviceItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return nil, wrap("decode devices", err)
		}
		for _, it := range items {
			out = append(out, it.device())
		}
	}
	return out, nil
}

// DeleteDevice: DeleteItem (ALL_OLD) + DeleteItem of its owner item if it
// still names the device. 2 WCU.
func (db *Push) DeleteDevice(ctx context.Context, userID, deviceID string) (push.Device, error) {
	out, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Users, Key: key(devicePK(userID), deviceSKPrefix+deviceID),
		ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return push.Device{}, wrap("delete device", err)
	}
	if len(out.Attributes) == 0 {
		return push.Device{}, push.DeviceNotFound(userID, deviceID)
	}
	var it deviceItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return push.Device{}, wrap("decode device", err)
	}
	d := it.device()
	return d, db.deleteOwner(ctx, it.TokenHash, push.DeviceRef{UserID: userID, DeviceID: deviceID}, it.Reg)
}

// RemoveDevice: DeleteItem IF token_hash = :h (+ the owner item).
func (db *Push) RemoveDevice(ctx context.Context, userID, deviceID, tokenHash string) (bool, error) {
	out, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Users, Key: key(devicePK(userID), deviceSKPrefix+deviceID),
		ConditionExpression: aws.String("token_hash = :h"), ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(tokenHash)},
		ReturnValues: types.ReturnValueAllOld})
	switch {
	case IsConditionFailed(err):
		return false, nil
	case err != nil:
		return false, wrap("remove device", err)
	}
	reg, _ := out.Attributes["reg"].(*types.AttributeValueMemberS)
	r := ""
	if reg != nil {
		r = reg.Value
	}
	return true, db.deleteOwner(ctx, tokenHash, push.DeviceRef{UserID: userID, DeviceID: deviceID}, r)
}

// SetEndpoint: UpdateItem IF token_hash = :h. 1 WCU, once per device.
func (db *Push) SetEndpoint(ctx context.Context, userID, deviceID, tokenHash, arn string) error {
	_, err := db.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &db.t.Users, Key: key(devicePK(userID), deviceSKPrefix+deviceID),
		UpdateExpression:          aws.String("SET endpoint_arn = :a"),
		ConditionExpression:       aws.String("token_hash = :h"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":h": str(tokenHash), ":a": str(arn)}})
	if err != nil && !IsConditionFailed(err) {
		return wrap("set endpoint", err)
	}
	return nil
}

type prefItem struct {
	Preview  *bool  `dynamodbav:"preview,omitempty"`
	DNDStart string `dynamodbav:"dnd_start,omitempty"`
	DNDEnd   string `dynamodbav:"dnd_end,omitempty"`
	DNDZone  string `dynamodbav:"dnd_tz,omitempty"`
	Level    string `dynamodbav:"level,omitempty"`
	Until    int64  `dynamodbav:"until,omitempty"` // epoch ms
	SK       string `dynamodbav:"sk"`
}

// GetPrefs: one BatchGetItem (consistent) of the user's item and the
// conversations' items (one more per 100 keys).
func (db *Push) GetPrefs(ctx context.Context, userID string, convs []string) (push.Prefs, map[string]push.ConvPref, error) {
	keys := []map[string]types.AttributeValue{key(prefPK(userID), prefUserSK)}
	for _, c := range convs {
		keys = append(keys, key(prefPK(userID), prefConvPrefix+c))
	}
	p, conv := push.DefaultPrefs(), map[string]push.ConvPref{}
	err := db.batchGet(ctx, db.t.Users, keys, "", func(m map[string]types.AttributeValue) error {
		var it prefItem
		if err := attributevalue.UnmarshalMap(m, &it); err != nil {
			return wrap("decode push prefs", err)
		}
		if it.SK == prefUserSK {
			if it.Preview != nil {
				p.Preview = *it.Preview
			}
			if it.DNDStart != "" {
				p.DND = &push.DND{Start: it.DNDStart, End: it.DNDEnd, TimeZone: it.DNDZone}
			}
			return nil
		}
		cp := push.ConvPref{Level: push.Level(it.Level)}
		if it.Until != 0 {
			u := time.UnixMilli(it.Until).UTC()
			cp.Until = &u
		}
		conv[it.SK[len(prefConvPrefix):]] = cp
		return nil
	})
	if err != nil {
		return push.Prefs{}, nil, err
	}
	return p, conv, nil
}

// PutPrefs: one PutItem.
func (db *Push) PutPrefs(ctx context.Context, userID string, p push.Prefs) error {
	it := prefItem{Preview: &p.Preview, SK: prefUserSK}
	if p.DND != nil {
		it.DNDStart, it.DNDEnd, it.DNDZone = p.DND.Start, p.DND.End, p.DND.TimeZone
	}
	m, err := attributevalue.MarshalMap(it)
	if err != nil {
		return wrap("encode push prefs", err)
	}
	m[attrPK] = str(prefPK(userID))
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: m}); err != nil {
		return wrap("put push prefs", err)
	}
	return nil
}

// PutConvPref: one PutItem, or DeleteItem for the default. An item with
// until expires (TTL) a day after it.
func (db *Push) PutConvPref(ctx context.Context, userID, convID string, p push.ConvPref) error {
	k := key(prefPK(userID), prefConvPrefix+convID)
	if p.Level == push.LevelAll && p.Until == nil {
		if _, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Users, Key: k}); err != nil {
			return wrap("delete conversation push pref", err)
		}
		return nil
	}
	k["level"] = str(string(p.Level))
	if p.Until != nil {
		k["until"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(p.Until.UnixMilli(), 10)}
		k["expires_at"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(p.Until.Add(24*time.Hour).Unix(), 10)}
	}
	if _, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: k}); err != nil {
		return wrap("put conversation push pref", err)
	}
	return nil
}

// ClaimPush: PutItem IF absent or expired. 1 WCU per device pushed.
func (db *Push) ClaimPush(ctx context.Context, userID, k string, ttl time.Duration) (bool, error) {
	item := key(claimPK(userID), k)
	now := time.Now()
	item["expires_at"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(ttl).Unix(), 10)}
	_, err := db.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &db.t.Users, Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(pk) OR expires_at < :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)}}})
	switch {
	case IsConditionFailed(err):
		return false, nil
	case err != nil:
		return false, wrap("claim push", err)
	}
	return true, nil
}

// ReleasePush: one DeleteItem.
func (db *Push) ReleasePush(ctx context.Context, userID, k string) error {
	if _, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Users, Key: key(claimPK(userID), k)}); err != nil {
		return wrap("release push", err)
	}
	return nil
}

// Pushed: GetItem (consistent) of the claim. 1 RCU per device of an
// offline recipient of an edit or recall.
func (db *Push) Pushed(ctx context.Context, userID, k string) (bool, error) {
	out, err := db.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &db.t.Users, Key: key(claimPK(userID), k), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("expires_at")})
	if err != nil {
		return false, wrap("read push claim", err)
	}
	exp, _ := out.Item["expires_at"].(*types.AttributeValueMemberN)
	if exp == nil {
		return false, nil
	}
	n, err := strconv.ParseInt(exp.Value, 10, 64)
	return err == nil && n > time.Now().Unix(), nil
}

var _ push.UserDataStore = (*Push)(nil)

// DeleteUserData: per partition (settings, notifications, claims) a
// keys-only Query, then one DeleteItem per item (1 WCU each; a user has
// at most a few hundred).
func (db *Push) DeleteUserData(ctx context.Context, userID string) (int, error) {
	n := 0
	for _, pk := range []string{prefPK(userID), inboxPK(userID), claimPK(userID)} {
		p := dynamodb.NewQueryPaginator(db.client, &dynamodb.QueryInput{TableName: &db.t.Users, ConsistentRead: aws.Bool(true),
			KeyConditionExpression: aws.String("pk = :pk"), ProjectionExpression: aws.String("pk, sk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return n, wrap("query a deleted user's push items", err)
			}
			for _, k := range page.Items {
				if _, err := db.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &db.t.Users, Key: k}); err != nil {
					return n, wrap("delete a deleted user's push item", err)
				}
				n++
			}
		}
	}
	return n, nil
}
