package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"leifeng/gateway/wire"
)

// orderConfig is testConfig with orders the cloud sent: one done, one
// declined with a reason, and a volunteer with a task; and this month's
// served counts.
func orderConfig() *wire.Config {
	c := testConfig()
	st := c.Station
	c.Orders = []wire.OrderStatus{
		{Ref: "XQ-0042", Category: "家政", State: "completed", Check: wire.OrderCheck(st, "XQ-0042", "5678"), Updated: fixedNow.Add(-2 * time.Hour)},
		{Ref: "XQ-0043", Category: "法律", State: "rejected", Reason: "不在本站服务范围，已转介司法所", Check: wire.OrderCheck(st, "XQ-0043", "1111")},
	}
	c.Volunteers = []wire.VolunteerSummary{{ID: "V0001", Name: "王*明", Hours: 12, Tasks: []wire.Task{{Ref: "XQ-0044", Category: "关爱空巢老人"}}}}
	c.Served = &wire.Served{Period: "2026年3月", Counts: []wire.ServedCount{{Category: "家政", Count: 3}, {Category: "法律", Count: 1}}}
	return c
}

func (k *kiosk) typeDigits(s string) {
	k.t.Helper()
	for _, d := range s {
		k.press(string(d))
	}
}

// lookup enters a reference and phone digits and presses 查询.
func (k *kiosk) lookup(ref, digits string) {
	k.t.Helper()
	k.press("需求登记")
	k.wait(ScreenNeedCat)
	k.press("查询或评价已登记的需求")
	k.wait(ScreenOrderRef)
	k.typeDigits(ref)
	k.shows("XQ-" + ref)
	k.press("下一步")
	k.wait(ScreenOrderTel)
	k.typeDigits(digits)
	k.press("查询")
	k.wait(ScreenOrderState)
}

// A resident looks up a finished order offline and rates it; the rating
// is a record in the outbox with the digits, score and comment.
func TestOrderLookupAndRating(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, orderConfig())
	k.lookup("0042", "5678")
	k.shows("登记编号：XQ-0042", "当前状态：已完成", "服务已完成，欢迎您评价")
	k.press("评价服务")
	k.wait(ScreenOrderRate)
	k.shows("请先选择分数")
	k.press("5分\n非常满意")
	k.shows("✓ 5分\n非常满意")
	k.press("准时到达")
	k.press("提交评价")
	k.wait(ScreenOrderDone)
	k.eventually("感谢您的评价")
	recs, err := k.st.Oldest(10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Kind != wire.KindOrderRating || recs[0].Order != "XQ-0042" || recs[0].Phone != "5678" ||
		recs[0].Rating != 5 || recs[0].Note != "准时到达" || recs[0].Volunteer != "" {
		t.Fatalf("outbox %+v", recs)
	}
}

// A declined order shows its reason; wrong digits are refused, and after
// five the lookup pauses even for the right ones.
func TestOrderRejectedAndWrongDigits(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, orderConfig())
	k.lookup("0043", "1111")
	k.shows("已拒绝", "原因：不在本站服务范围，已转介司法所")
	if strings.Contains(k.texts(), "评价服务") {
		t.Fatal("a declined order offers a rating")
	}
	k.press("返回首页")
	for i := 0; i < maxOrderTries-1; i++ {
		k.lookup("0042", "0000")
		k.shows("电话号码后四位不对")
		k.press("返回首页")
	}
	k.lookup("0042", "0000")
	k.shows("输入错误次数过多")
	k.press("返回首页")
	k.lookup("0042", "5678")
	k.shows("输入错误次数过多")
	if strings.Contains(k.texts(), "已完成") {
		t.Fatal("the locked lookup shows the order")
	}
}

// A reference from another station is not in this kiosk's config: the
// resident can still rate, and the cloud checks it.
func TestOrderFromAnotherStation(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, orderConfig())
	k.lookup("7", "2468")
	k.shows("本站没有查到这个登记编号")
	k.press("评价服务")
	k.wait(ScreenOrderRate)
	k.press("3分\n一般")
	k.press("提交评价")
	k.wait(ScreenOrderDone)
	k.eventually("感谢您的评价")
	recs, _ := k.st.Oldest(10)
	if len(recs) != 1 || recs[0].Order != "XQ-7" || recs[0].Rating != 3 || recs[0].Note != "" {
		t.Fatalf("outbox %+v", recs)
	}
}

// A volunteer with an assigned order hears of it at the tap, and one tap
// starts the order's service with this check-in.
func TestTaskAtTap(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, orderConfig())
	k.cardTap("V0001")
	k.wait(ScreenResult)
	k.shows("签到成功", "您有一项待服务任务", "关爱空巢老人（XQ-0044）")
	k.press("开始服务：XQ-0044")
	k.wait(ScreenTaskStart)
	k.eventually("已开始服务")
	recs, err := k.st.Oldest(10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("outbox %+v %v", recs, err)
	}
	in, start := recs[0], recs[1]
	if in.Kind != wire.KindCheckIn || start.Kind != wire.KindOrderStart || start.Ref != in.ID || start.Order != "XQ-0044" || start.Volunteer != "V0001" {
		t.Fatalf("check-in %+v start %+v", in, start)
	}
	// Another volunteer's result has no task button.
	k.press("返回首页")
	k.cardTap("V0002")
	k.wait(ScreenResult)
	if strings.Contains(k.texts(), "开始服务") {
		t.Fatal("a volunteer without a task is offered one")
	}
	for _, o := range k.objects() {
		if b, ok := o.(*touchButton); ok && strings.HasPrefix(b.Text, "开始服务") && b.Visible() {
			t.Fatal("task button visible")
		}
	}
}

// The contact board shows this month's served orders per category,
// counts only.
func TestBoardServedCounts(t *testing.T) {
	k := newKioskWith(t, fyne.NewSize(800, 480), Options{}, orderConfig())
	k.press("公示栏")
	k.wait(ScreenBoard)
	k.shows("2026年3月已服务群众需求", "家政 3 件、法律 1 件")
}
