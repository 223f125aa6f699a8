package ui

import (
	"time"

	"leifeng/gateway/wire"
)

// testConfig is a configured station, as the cloud would push it: the
// tests' own content (the kiosk has none built in).
func testConfig() *wire.Config {
	yes, no := true, false
	cst := time.FixedZone("CST", 8*3600)
	return &wire.Config{
		V: 1, Version: 3, Station: "pe-simao-001", Issued: fixedNow.Add(-time.Hour),
		Profile: &wire.Profile{
			Name:    "思茅区学雷锋志愿服务站",
			County:  "思茅区",
			Address: "思茅区振兴大道社区服务中心一楼",
			Checklist: []wire.ChecklistItem{
				{Item: "统一标识", Done: true}, {Item: "名称", Done: true},
				{Item: "办公场地及相关设备", Done: true}, {Item: "志愿服务队伍", Done: true},
				{Item: "培训", Done: true}, {Item: "服务内容", Done: true},
				{Item: "服务记录", Done: true}, {Item: "管理制度", Done: true},
				{Item: "监督检查", Done: true}, {Item: "志愿者星级认定和激励回馈", Done: false, Note: "激励回馈办法制定中"},
			},
		},
		Menu: []wire.MenuCategory{
			{ID: "elderly", Name: "关爱空巢老人", Items: []wire.MenuItem{
				{ID: "elderly-visit", Name: "上门探访陪伴", What: "陪老人聊天、读报，帮忙打扫卫生", When: "每周二、周四 下午", Where: "社区内老人家中", Who: "社区青年志愿服务队", Contact: "0879-2123456", URL: "https://zyz.puer.gov.cn/s/elderly-visit"},
				{ID: "elderly-haircut", Name: "义务理发", What: "为行动不便的老人理发", When: "每月第一个周六 上午", Where: "服务站活动室", Who: "巾帼志愿服务队", Contact: "0879-2123456", URL: "https://zyz.puer.gov.cn/s/elderly-haircut"},
			}},
			{ID: "children", Name: "关爱留守儿童", Items: []wire.MenuItem{
				{ID: "children-homework", Name: "义务家教", What: "辅导小学生完成作业", When: "周一至周五 16:30—18:00", Where: "服务站阅览室", Who: "普洱学院志愿者", Contact: "0879-2123457", URL: "https://zyz.puer.gov.cn/s/children-homework"},
			}},
			{ID: "legal", Name: "法律", Items: []wire.MenuItem{
				{ID: "legal-advice", Name: "法律咨询", What: "婚姻家庭、劳动纠纷等法律问题解答", When: "每周三 上午", Where: "服务站接待室", Who: "思茅区律师志愿服务队", Contact: "0879-2123458", URL: "https://zyz.puer.gov.cn/s/legal-advice"},
			}},
			{ID: "health", Name: "医疗卫生", Items: []wire.MenuItem{
				{ID: "health-check", Name: "测血压、量血糖", What: "免费测量血压血糖，讲解健康知识", When: "每周五 上午", Where: "服务站活动室", Who: "社区卫生服务中心", Contact: "0879-2123459", URL: "https://zyz.puer.gov.cn/s/health-check"},
			}},
			{ID: "traffic", Name: "文明交通", Items: []wire.MenuItem{
				{ID: "traffic-guide", Name: "路口文明劝导", What: "上下学时段在路口劝导行人和车辆", When: "上学日 7:30—8:30", Where: "振兴大道与月光路口", Who: "党员志愿服务队", Contact: "0879-2123456", URL: "https://zyz.puer.gov.cn/s/traffic-guide"},
			}},
			{ID: "environment", Name: "环保宣传", Items: []wire.MenuItem{
				{ID: "env-clean", Name: "河道清洁", What: "清理河道垃圾，宣传垃圾分类", When: "每月最后一个周日", Where: "思茅河沿岸", Who: "青年志愿服务队", Contact: "0879-2123456", URL: "https://zyz.puer.gov.cn/s/env-clean"},
			}},
			{ID: "neighbours", Name: "邻里互助", Items: []wire.MenuItem{
				{ID: "neighbours-repair", Name: "小家电维修", What: "免费修理小家电、换灯泡、通下水道", When: "每周六 全天", Where: "服务站门口", Who: "职工志愿服务队", Contact: "0879-2123456", URL: "https://zyz.puer.gov.cn/s/neighbours-repair"},
			}},
		},
		Board: &wire.Board{
			Workflow:      []string{"居民提出需求（现场、电话或屏幕登记）", "站点登记并派单", "志愿者上门或到站服务", "服务结束签退记录时长", "回访居民、公示结果"},
			Services:      []string{"关爱空巢老人", "关爱留守儿童", "法律咨询", "医疗卫生", "文明交通", "环保宣传", "邻里互助"},
			ContactPerson: "李华（站长）",
			Phone:         "0879-2123456",
			OpeningHours:  "周一至周日 8:30—17:30",
		},
		Announcements: []wire.Announcement{
			{Title: "学雷锋纪念日集中服务", Body: "义务理发、测血压、法律咨询、小家电维修", When: time.Date(2027, 3, 5, 9, 0, 0, 0, cst), Where: "服务站门前广场"},
			{Title: "防诈骗知识讲座", Body: "民警讲解常见电信诈骗，欢迎老人和家属参加", When: time.Date(2027, 3, 12, 15, 0, 0, 0, cst), Where: "社区会议室"},
			{Title: "志愿者培训", Body: "新志愿者服务礼仪与安全培训", When: time.Date(2027, 3, 19, 9, 30, 0, 0, cst), Where: "服务站活动室"},
		},
		HonorRollPeriod: "2027年2月",
		HonorRoll: []wire.Honor{
			{Volunteer: "V0001", Name: "张*三", Hours: 42.5, Stars: 2},
			{Volunteer: "V0002", Name: "李*芳", Hours: 38, Stars: 3},
			{Volunteer: "V0003", Name: "王*", Hours: 31, Stars: 1},
			{Volunteer: "V0004", Name: "岩*罕", Hours: 27.5, Stars: 1},
		},
		UI:    &wire.UISettings{IdleTimeoutSeconds: 60, Language: "zh", Sound: &yes, Voice: &no},
		Stars: append([]float64(nil), wire.DefaultStars...),
		Volunteers: []wire.VolunteerSummary{
			{ID: "V0001", Name: "张*三", Hours: 558},
			{ID: "V0002", Name: "李*芳", Hours: 612},
			{ID: "V0003", Name: "王*", Hours: 120},
			{ID: "V0004", Name: "岩*罕", Hours: 96},
		},
	}
}
