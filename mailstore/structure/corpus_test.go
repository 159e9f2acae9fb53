package structure

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The corpus in ../../testdata/corpus is made by the generators below, so
// that its exact bytes (CRLFs, NULs, 8-bit, sizes) are written down
// somewhere readable. Run
//
//	go test ./mailstore/structure -run TestCorpusFiles -update-corpus
//
// after changing one, and commit the files. Other packages' tests read the
// files by name: keep the names.
var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/corpus from the generators")

const corpusDir = "../../testdata/corpus"

var corpus = []struct {
	name string
	gen  func() []byte
}{
	{"exchange-forwarded.eml", exchangeForwarded},
	{"unterminated-multipart.eml", unterminatedMultipart},
	{"missing-boundary.eml", missingBoundary},
	{"no-separator.eml", noSeparator},
	{"lf-only.eml", lfOnly},
	{"smtputf8-headers.eml", smtputf8Headers},
	{"latin1-8bit.eml", latin1EightBit},
	{"unknown-charset.eml", unknownCharset},
	{"huge-header.eml", hugeHeader},
	{"long-lines.eml", longLines},
	{"binary-part.eml", binaryPart},
	{"nested-rfc822.eml", nestedRFC822},
	{"digest.eml", digest},
	{"rfc2231-params.eml", rfc2231Params},
	{"empty-body.eml", emptyBody},
	{"headers-only-no-newline.eml", headersOnlyNoNewline},
	{"dot-lines.eml", dotLines},
	{"garbage-params.eml", garbageParams},
	{"deep-nesting.eml", deepNesting},
	{"no-content-type.eml", noContentType},
	{"mixed-line-endings.eml", mixedLineEndings},
	{"empty-multipart.eml", emptyMultipart},
}

// TestCorpusFiles checks that the committed corpus is what the generators
// make, and that the README lists every file.
func TestCorpusFiles(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(corpusDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range corpus {
		want := c.gen()
		path := filepath.Join(corpusDir, c.name)
		if *updateCorpus {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run with -update-corpus)", c.name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its generator (run with -update-corpus)", c.name)
		}
		if !bytes.Contains(readme, []byte("`"+c.name+"`")) {
			t.Errorf("README.md does not list %s", c.name)
		}
	}
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	if len(files) != len(corpus) {
		t.Errorf("%d .eml files in %s, %d generators", len(files), corpusDir, len(corpus))
	}
}

// crlf turns the LFs of s into CRLFs.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// fakeB64 is n deterministic base64 characters, for signatures and hashes.
func fakeB64(seed string, n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", seed, i)))
		b.WriteString(base64.StdEncoding.EncodeToString(h[:])[:43])
	}
	return b.String()[:n]
}

// fold folds s into lines of at most width characters after prefix,
// continuation lines starting with a space; lines end in CRLF.
func fold(prefix, s string, width int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for n := width - len(prefix); len(s) > n; n = width - 1 {
		b.WriteString(s[:n] + "\r\n ")
		s = s[n:]
	}
	return b.String() + s + "\r\n"
}

// b64Lines is base64 of data in lines of 76 characters, CRLF-terminated.
func b64Lines(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	return b.String() + s + "\r\n"
}

// fakePDF is a small, deterministic, PDF-looking file.
func fakePDF() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")
	b.WriteString("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n")
	b.WriteString("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n")
	for i := 0; i < 8; i++ {
		fmt.Fprintf(&b, "%% budget line %d: %08d\n", i, i*7919)
	}
	b.WriteString("trailer\n<< /Root 1 0 R >>\n%%EOF\n")
	return b.Bytes()
}

func exchangeForwarded() []byte {
	const outer = "_004_PAXPR07MB8771B5E1C2D3A4F5E6F7A8B9C0D1E2F3PAXPR07MB8771eurp_"
	const inner = "_000_PAXPR07MB8771B5E1C2D3A4F5E6F7A8B9C0D1E2F3PAXPR07MB8771eurp_"
	pdf := fakePDF()
	var b strings.Builder
	b.WriteString(crlf(`Received: from AM9PR07MB7123.eurprd07.prod.outlook.com (2603:10a6:20b:2e4::15)
 by DB9PR07MB8456.eurprd07.prod.outlook.com with HTTPS; Tue, 14 May 2024
 09:12:44 +0000
ARC-Seal: i=2; a=rsa-sha256; s=arcselector9901; d=microsoft.com; cv=pass;
`))
	b.WriteString(fold(" b=", fakeB64("arc-seal-2", 344), 78))
	b.WriteString(crlf(`ARC-Message-Signature: i=2; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com;
 s=arcselector9901;
 h=From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-AntiSpam-MessageData-ChunkCount:X-MS-Exchange-AntiSpam-MessageData-0:X-MS-Exchange-AntiSpam-MessageData-1;
`))
	b.WriteString(" bh=" + fakeB64("arc-bh-2", 43) + "=;\r\n")
	b.WriteString(fold(" b=", fakeB64("arc-ms-2", 344), 78))
	b.WriteString(crlf(`ARC-Authentication-Results: i=2; mx.microsoft.com 1; spf=pass (sender ip is
 203.0.113.25) smtp.rcpttodomain=fabrikam.com smtp.mailfrom=contoso.com;
 dmarc=pass (p=reject sp=reject pct=100) action=none header.from=contoso.com;
 dkim=pass (signature was verified) header.d=contoso.com; arc=pass (0 oda=1
 ltdi=1 spf=[1,1,smtp.mailfrom=contoso.com] dkim=[1,1,header.d=contoso.com]
 dmarc=[1,1,header.from=contoso.com])
Received: from DU2PR04CA0123.eurprd04.prod.outlook.com (2603:10a6:10:231::8)
 by AM9PR07MB7123.eurprd07.prod.outlook.com (2603:10a6:20b:2e4::15) with
 Microsoft SMTP Server (version=TLS1_2,
 cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7587.27; Tue, 14 May
 2024 09:12:43 +0000
Received: from DB1PEPF00039230.eurprd03.prod.outlook.com
 (2603:10a6:10:231:cafe::5e) by DU2PR04CA0123.outlook.office365.com
 (2603:10a6:10:231::8) with Microsoft SMTP Server (version=TLS1_2,
 cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7587.28 via Frontend
 Transport; Tue, 14 May 2024 09:12:43 +0000
Authentication-Results: spf=pass (sender IP is 203.0.113.25)
 smtp.mailfrom=contoso.com; dkim=pass (signature was verified)
 header.d=contoso.com;dmarc=pass action=none
 header.from=contoso.com;compauth=pass reason=100
Received-SPF: Pass (protection.outlook.com: domain of contoso.com designates
 203.0.113.25 as permitted sender) receiver=protection.outlook.com;
 client-ip=203.0.113.25; helo=EUR05-DB8-obe.outbound.protection.outlook.com;
 pr=C
Received: from EUR05-DB8-obe.outbound.protection.outlook.com (203.0.113.25) by
 DB1PEPF00039230.mail.protection.outlook.com (10.167.8.103) with Microsoft SMTP
 Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id
 15.20.7587.21 via Frontend Transport; Tue, 14 May 2024 09:12:42 +0000
ARC-Seal: i=1; a=rsa-sha256; s=arcselector9901; d=microsoft.com; cv=none;
`))
	b.WriteString(fold(" b=", fakeB64("arc-seal-1", 344), 78))
	b.WriteString(crlf(`ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=microsoft.com;
 s=arcselector9901;
 h=From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-AntiSpam-MessageData-ChunkCount:X-MS-Exchange-AntiSpam-MessageData-0:X-MS-Exchange-AntiSpam-MessageData-1;
`))
	b.WriteString(" bh=" + fakeB64("arc-bh-1", 43) + "=;\r\n")
	b.WriteString(fold(" b=", fakeB64("arc-ms-1", 344), 78))
	b.WriteString(crlf(`ARC-Authentication-Results: i=1; mx.microsoft.com 1; spf=pass
 smtp.mailfrom=contoso.com; dmarc=pass action=none header.from=contoso.com;
 dkim=pass header.d=contoso.com; arc=none
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=contoso.com;
 s=selector1;
 h=From:Date:Subject:Message-ID:Content-Type:MIME-Version:X-MS-Exchange-SenderADCheck;
`))
	b.WriteString(" bh=" + fakeB64("dkim-bh", 43) + "=;\r\n")
	b.WriteString(fold(" b=", fakeB64("dkim-b", 344), 78))
	b.WriteString(crlf(`Received: from PAXPR07MB8771.eurprd07.prod.outlook.com (2603:10a6:102:246::19)
 by PAWPR07MB9683.eurprd07.prod.outlook.com (2603:10a6:102:383::9) with
 Microsoft SMTP Server (version=TLS1_2,
 cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7587.28; Tue, 14 May
 2024 09:12:40 +0000
Received: from PAXPR07MB8771.eurprd07.prod.outlook.com
 ([fe80::3c1f:4a2b:9d0e:7f61]) by PAXPR07MB8771.eurprd07.prod.outlook.com
 ([fe80::3c1f:4a2b:9d0e:7f61%4]) with mapi id 15.20.7587.026; Tue, 14 May 2024
 09:12:40 +0000
From: Megan Bowen <MeganB@contoso.com>
To: Alex Wilber <AlexW@fabrikam.com>
CC: "Lee, Gordon" <GordonL@contoso.com>, =?utf-8?B?SsO2cmcgTcO8bGxlcg==?=
	<joerg.mueller@contoso.com>
Subject: FW: Q2 budget review =?utf-8?Q?=E2=80=93_final_numbers?=
Thread-Topic: Q2 budget review =?utf-8?Q?=E2=80=93_final_numbers?=
Thread-Index: AQHapd4xYJ8vZk3mS0G7a2c1v0s3Q7GxYk2A
Date: Tue, 14 May 2024 09:12:40 +0000
Message-ID:
 <PAXPR07MB8771B5E1C2D3A4F5E6F7A8B9C0D1E2F3@PAXPR07MB8771.eurprd07.prod.outlook.com>
References:
 <AM0PR07MB6341A1B2C3D4E5F6A7B8C9D0E1F2A3B4@AM0PR07MB6341.eurprd07.prod.outlook.com>
In-Reply-To:
 <AM0PR07MB6341A1B2C3D4E5F6A7B8C9D0E1F2A3B4@AM0PR07MB6341.eurprd07.prod.outlook.com>
Accept-Language: en-US, de-DE
Content-Language: en-US
X-MS-Has-Attach: yes
X-MS-TNEF-Correlator:
msip_labels:
authentication-results: dkim=none (message not signed)
 header.d=none;dmarc=none action=none header.from=contoso.com;
x-ms-publictraffictype: Email
x-ms-traffictypediagnostic:
 PAXPR07MB8771:EE_|PAWPR07MB9683:EE_|DB1PEPF00039230:EE_|AM9PR07MB7123:EE_
x-ms-office365-filtering-correlation-id: 4f9c2d1e-7a3b-4c5d-8e9f-0a1b2c3d4e5f
x-ms-exchange-senderadcheck: 1
x-ms-exchange-antispam-relay: 0
x-microsoft-antispam:
 BCL:0;ARA:13230031|1800799015|366007|376005|38070700009;
`))
	b.WriteString(fold("x-microsoft-antispam-message-info:\r\n ", fakeB64("antispam-info", 1200), 78))
	b.WriteString(crlf(`x-forefront-antispam-report:
 CIP:255.255.255.255;CTRY:;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:PAXPR07MB8771.eurprd07.prod.outlook.com;PTR:;CAT:NONE;SFS:(13230031)(1800799015)(366007)(376005)(38070700009);DIR:OUT;SFP:1102;
x-ms-exchange-antispam-messagedata-chunkcount: 1
`))
	b.WriteString(fold("x-ms-exchange-antispam-messagedata-0:\r\n ", fakeB64("messagedata-0", 2400), 78))
	b.WriteString(crlf(`Content-Type: multipart/mixed;
	boundary="` + outer + `"
MIME-Version: 1.0
X-MS-Exchange-Transport-CrossTenantHeadersStamped: PAWPR07MB9683
X-MS-Exchange-Organization-ExpirationStartTime: 14 May 2024 09:12:42.9671
 (UTC)
X-MS-Exchange-Organization-ExpirationStartTimeReason: OriginalSubmit
X-MS-Exchange-Organization-ExpirationInterval: 1:00:00:00.0000000
X-MS-Exchange-Organization-ExpirationIntervalReason: OriginalSubmit
X-MS-Exchange-Organization-Network-Message-Id:
 4f9c2d1e-7a3b-4c5d-8e9f-0a1b2c3d4e5f
X-EOPAttributedMessage: 0
X-EOPTenantAttributedMessage: 2b7e6c1d-0f4a-4e3b-9c8d-7a6b5c4d3e2f:0
X-MS-Exchange-Organization-MessageDirectionality: Incoming
X-MS-Exchange-Transport-CrossTenantHeadersStripped:
 DB1PEPF00039230.eurprd03.prod.outlook.com
X-MS-Exchange-Transport-CrossTenantHeadersPromoted:
 DB1PEPF00039230.eurprd03.prod.outlook.com
X-MS-PublicTrafficType: Email
X-MS-TrafficTypeDiagnostic:
 DB1PEPF00039230:EE_|AM9PR07MB7123:EE_|DB9PR07MB8456:EE_
X-MS-Exchange-Organization-AuthSource:
 DB1PEPF00039230.eurprd03.prod.outlook.com
X-MS-Exchange-Organization-AuthAs: Anonymous
X-MS-Office365-Filtering-Correlation-Id: 4f9c2d1e-7a3b-4c5d-8e9f-0a1b2c3d4e5f
X-MS-Exchange-Organization-SCL: 1
X-Microsoft-Antispam: BCL:0;ARA:13230031|1800799015|366007|376005;
X-Forefront-Antispam-Report:
 CIP:203.0.113.25;CTRY:NL;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:EUR05-DB8-obe.outbound.protection.outlook.com;PTR:mail-db8eur05on2025.outbound.protection.outlook.com;CAT:NONE;SFS:(13230031)(1800799015)(366007)(376005);DIR:INB;
X-MS-Exchange-CrossTenant-OriginalArrivalTime: 14 May 2024 09:12:42.5023
 (UTC)
X-MS-Exchange-CrossTenant-Network-Message-Id: 4f9c2d1e-7a3b-4c5d-8e9f-0a1b2c3d4e5f
X-MS-Exchange-CrossTenant-Id: 2b7e6c1d-0f4a-4e3b-9c8d-7a6b5c4d3e2f
X-MS-Exchange-CrossTenant-AuthSource:
 DB1PEPF00039230.eurprd03.prod.outlook.com
X-MS-Exchange-CrossTenant-AuthAs: Anonymous
X-MS-Exchange-CrossTenant-FromEntityHeader: Internet
X-MS-Exchange-Transport-CrossTenantHeadersStamped: AM9PR07MB7123
X-MS-Exchange-Transport-EndToEndLatency: 00:00:02.1934567
X-MS-Exchange-Processed-By-BccFoldering: 15.20.7587.021
X-Microsoft-Antispam-Mailbox-Delivery:
 ucf:0;jmr:0;auth:0;dest:I;ENG:(910001)(944506478)(944626604)(920097)(930097)(3100021)(140003);
`))
	b.WriteString(fold("X-Microsoft-Antispam-Message-Info:\r\n\t", fakeB64("antispam-mi", 1600), 78))
	b.WriteString("\r\n")
	b.WriteString(crlf(`--` + outer + `
Content-Type: multipart/alternative;
	boundary="` + inner + `"

--` + inner + `
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Hi Alex,

FYI =E2=80=93 see below and the attached PDF.

Megan

________________________________
From: Lee, Gordon <GordonL@contoso.com>
Sent: Monday, May 13, 2024 5:40 PM
To: Megan Bowen <MeganB@contoso.com>
Subject: Q2 budget review =E2=80=93 final numbers

Hi Megan, the numbers are final. This sentence is long enough that quoted-p=
rintable has to wrap it with a soft line break, as Exchange does.

--` + inner + `
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<html>
<head>
<meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3Dutf-8">
<style type=3D"text/css" style=3D"display:none;"> P {margin-top:0;margin-bo=
ttom:0;} </style>
</head>
<body dir=3D"ltr">
<div style=3D"font-family: Aptos, Aptos_EmbeddedFont, Aptos_MSFontService, C=
alibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">
Hi Alex,</div>
<div style=3D"font-family: Aptos, Aptos_EmbeddedFont, Aptos_MSFontService, C=
alibri, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">
FYI =E2=80=93 see below and the attached PDF.</div>
<hr style=3D"display:inline-block;width:98%" tabindex=3D"-1">
<div id=3D"divRplyFwdMsg" dir=3D"ltr"><font face=3D"Calibri, sans-serif" st=
yle=3D"font-size:11pt" color=3D"#000000"><b>From:</b> Lee, Gordon &lt;Gordo=
nL@contoso.com&gt;<br>
<b>Subject:</b> Q2 budget review =E2=80=93 final numbers</font></div>
<div>Hi Megan, the numbers are final.</div>
</body>
</html>

--` + inner + `--

--` + outer + `
Content-Type: application/pdf; name="Q2 budget.pdf"
Content-Description: Q2 budget.pdf
Content-Disposition: attachment; filename="Q2 budget.pdf"; size=` + fmt.Sprint(len(pdf)) + `;
	creation-date="Tue, 14 May 2024 09:12:39 GMT";
	modification-date="Tue, 14 May 2024 09:12:40 GMT"
Content-Transfer-Encoding: base64

`))
	b.WriteString(b64Lines(pdf))
	b.WriteString(crlf("\n--" + outer + "--\n"))
	return []byte(b.String())
}

func unterminatedMultipart() []byte {
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i)
	}
	att := b64Lines(data)
	att = att[:len(att)-37] // cut mid-line, as a lost connection would
	return []byte(crlf(`From: Sender <sender@example.org>
To: rcpt@example.com
Subject: Truncated upload
Date: Wed, 15 May 2024 10:00:00 +0200
Message-ID: <trunc-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer-XYZ"

This is a multi-part message in MIME format.

--outer-XYZ
Content-Type: text/plain; charset=us-ascii

First part, complete.

--outer-XYZ
Content-Type: multipart/alternative; boundary="inner-ABC"

--inner-ABC
Content-Type: text/plain; charset=us-ascii

Alternative text; this multipart never gets its close delimiter.

--inner-ABC
Content-Type: text/html; charset=us-ascii

<p>Alternative HTML</p>

--outer-XYZ
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="data.bin"

`) + att)
}

func missingBoundary() []byte {
	return []byte(crlf(`From: Broken Mailer <broken@example.org>
To: rcpt@example.com
Subject: multipart without a boundary parameter
Date: Thu, 16 May 2024 11:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed

--abc
Content-Type: text/plain

The boundary was never declared, so this is all one text part.
--abc--
`))
}

func noSeparator() []byte {
	return []byte(crlf(`From: Hasty Script <cron@example.org>
To: admin@example.com
Subject: No blank line after the header
Date: Thu, 16 May 2024 12:00:00 +0000
This line should have been the body.
And so should this one.
`))
}

func lfOnly() []byte {
	return []byte(`From: Unix User <user@example.org>
To: rcpt@example.com
Subject: LF-only line endings
Date: Thu, 16 May 2024 13:00:00 -0700
Message-ID: <lf-only-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="lf-boundary"

--lf-boundary
Content-Type: text/plain; charset=us-ascii

Plain text version.
Second line.

--lf-boundary
Content-Type: text/html; charset=us-ascii

<p>HTML version.</p>
--lf-boundary--
`)
}

func smtputf8Headers() []byte {
	return []byte(crlf(`Return-Path: <jörg@bücher.example>
From: Jörg Müller <jörg@bücher.example>
To: 用户 <用户@例子.广告>, "Zoë Ångström" <zoe@example.com>
Subject: Grüße aus Köln – ☕
Date: Thu, 16 May 2024 08:30:00 +0200
Message-ID: <utf8-1@bücher.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hallo, schöne Grüße aus Köln!
用户, 你好。
`))
}

func latin1EightBit() []byte {
	return []byte(crlf("From: Andr\xe9 Dupont <andre@example.fr>\n" +
		"To: rcpt@example.com\n" +
		"Subject: Caf\xe9 cr\xe8me\n" +
		"Date: Fri, 17 May 2024 09:00:00 +0200\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"latin\"\n" +
		"\n" +
		"--latin\n" +
		"Content-Type: text/plain; charset=iso-8859-1\n" +
		"Content-Transfer-Encoding: 8bit\n" +
		"\n" +
		"Voil\xe0 le r\xe9sum\xe9, tr\xe8s bien.\n" +
		"\xc0 bient\xf4t.\n" +
		"\n" +
		"--latin\n" +
		"Content-Type: text/plain; charset=iso-8859-1; name=\"r\xe9sum\xe9.txt\"\n" +
		"Content-Disposition: attachment; filename=\"r\xe9sum\xe9.txt\"\n" +
		"Content-Transfer-Encoding: 8bit\n" +
		"\n" +
		"Na\xefve fa\xe7ade.\n" +
		"--latin--\n"))
}

func unknownCharset() []byte {
	return []byte(crlf(`From: =?x-unknown-charset?Q?Nobody?= <nobody@example.org>
To: rcpt@example.com
Subject: =?x-unknown-charset?Q?Hello?= and =?utf-8?B?!!not base64!!?= =?utf-8?Q?unterminated
Date: Fri, 17 May 2024 10:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset="x-unknown-charset";
 name="=?x-unknown-charset?Q?report?=.txt"
Content-Disposition: inline; filename*=x-unknown-charset''%E4%F6%FC.txt
Content-Transfer-Encoding: 8bit

Body in a charset nobody knows: `) + "\xe4\xf6\xfc\r\n")
}

// hugeHeader is about 1 MB of header: a long Received chain and a huge folded
// field, then the fields that matter.
func hugeHeader() []byte {
	var b strings.Builder
	b.WriteString("Return-Path: <bulk@example.org>\r\n")
	for i := 0; i < 3200; i++ {
		fmt.Fprintf(&b, "Received: from relay%04d.example.net (relay%04d.example.net [192.0.2.%d])\r\n"+
			"\tby relay%04d.example.net (Postfix) with ESMTPS id %08X\r\n"+
			"\tfor <rcpt@example.com>; Fri, 17 May 2024 11:%02d:%02d +0000\r\n",
			i+1, i+1, i%254+1, i, uint32(i)*2654435761, i/60%60, i%60)
	}
	b.WriteString("X-Huge-Folded:")
	for i := 0; b.Len() < 1<<20; i++ {
		fmt.Fprintf(&b, " token%06d token%06d token%06d token%06d token%06d\r\n", 5*i, 5*i+1, 5*i+2, 5*i+3, 5*i+4)
	}
	b.WriteString(crlf(`From: Bulk Sender <bulk@example.org>
To: rcpt@example.com
Subject: After a 1 MB header
Date: Fri, 17 May 2024 12:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

The body after a very large header.
`))
	return []byte(b.String())
}

func longLines() []byte {
	long := func(n int, seed string) string {
		var b strings.Builder
		for i := 0; b.Len() < n; i++ {
			fmt.Fprintf(&b, "%s%d ", seed, i)
		}
		return b.String()[:n]
	}
	var refs []string
	for i := 0; i < 60; i++ {
		refs = append(refs, fmt.Sprintf("<thread-%04d.reference@lists.example.org>", i))
	}
	return []byte(crlf(`From: Lists <lists@example.org>
To: rcpt@example.com
Subject: Lines longer than 2000 bytes
Date: Fri, 17 May 2024 13:00:00 +0000
References: ` + strings.Join(refs, " ") + `
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="long"

--long
Content-Type: text/plain; charset=us-ascii

short line
` + long(2500, "word") + `
` + long(100000, "w") + `
--long
Content-Type: text/html; charset=us-ascii

<p>` + long(70000, "html") + `</p>
--long--
`))
}

func binaryPart() []byte {
	data := make([]byte, 1024)
	for i := range data {
		data[i] = byte(i)
	}
	return []byte(crlf(`From: Binary Sender <bin@example.org>
To: rcpt@example.com
Subject: Binary part with NUL bytes
Date: Fri, 17 May 2024 14:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="bin-boundary"

--bin-boundary
Content-Type: text/plain; charset=us-ascii

A binary part follows.
--bin-boundary
Content-Type: application/octet-stream; name="blob.bin"
Content-Transfer-Encoding: binary

`) + string(data) + crlf(`
--bin-boundary--
`))
}

func nestedRFC822() []byte {
	return []byte(crlf(`From: Outer Sender <outer@example.org>
To: rcpt@example.com
Subject: Fwd: two attached messages
Date: Sat, 18 May 2024 09:00:00 +0000
Message-ID: <outer-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=us-ascii

See the attached messages.

--outer
Content-Type: message/rfc822
Content-Disposition: attachment; filename="inner.eml"

From: Inner Sender <inner@example.net>
To: Outer Sender <outer@example.org>
Cc: undisclosed-recipients:;
Subject: Inner with alternatives
Date: Fri, 17 May 2024 18:00:00 +0100
Message-ID: <inner-1@example.net>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=us-ascii

Inner plain.

--inner
Content-Type: text/html; charset=us-ascii

<p>Inner HTML.</p>

--inner--

--outer
Content-Type: message/rfc822

From: Third <third@example.com>
Subject: Wrapper
Date: Thu, 16 May 2024 07:00:00 +0000
Content-Type: message/rfc822

From: Fourth <fourth@example.com>
Subject: Innermost
Date: Wed, 15 May 2024 06:00:00 +0000

Innermost body.

--outer--
`))
}

func digest() []byte {
	return []byte(crlf(`From: Digest Robot <digest@lists.example.org>
To: rcpt@example.com
Subject: Example digest, Vol 1, Issue 2
Date: Sat, 18 May 2024 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/digest; boundary="digest-b"

--digest-b

From: Alice <alice@example.org>
Subject: First post
Date: Sat, 18 May 2024 08:00:00 +0000

Hello list.

--digest-b

From: Bob <bob@example.org>
Subject: Re: First post
Date: Sat, 18 May 2024 09:00:00 +0000
In-Reply-To: <first@example.org>

Hi Alice.

--digest-b
Content-Type: text/plain; charset=us-ascii

End of digest.

--digest-b--
`))
}

func rfc2231Params() []byte {
	return []byte(crlf(`From: Params <params@example.org>
To: rcpt@example.com
Subject: RFC 2231 parameters
Date: Sat, 18 May 2024 11:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="p2231"

--p2231
Content-Type: text/plain; charset=us-ascii

Three attachments with RFC 2231 names.

--p2231
Content-Type: application/pdf;
 name*0*=utf-8''%E2%82%AC%20rates%20;
 name*1*=for%20Q3;
 name*2=".pdf"
Content-Disposition: attachment;
 filename*0*=utf-8''%E2%82%AC%20rates%20;
 filename*1*=for%20Q3;
 filename*2=".pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK

--p2231
Content-Type: text/plain; charset=iso-8859-1;
 title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A
Content-Disposition: attachment; filename*=iso-8859-1'fr'r%E9sum%E9.txt
Content-Transfer-Encoding: quoted-printable

R=E9sum=E9.

--p2231
Content-Type: text/plain; charset=windows-1252; name*=windows-1252''%80uro.txt
Content-Disposition: attachment; filename=fallback.txt; filename*=windows-1252''%80uro.txt

Euro.
--p2231--
`))
}

func emptyBody() []byte {
	return []byte(crlf(`From: Empty <empty@example.org>
To: rcpt@example.com
Subject: Empty body
Date: Sat, 18 May 2024 12:00:00 +0000

`))
}

func headersOnlyNoNewline() []byte {
	return []byte("From: Terse <terse@example.org>\r\nTo: rcpt@example.com\r\nSubject: Only a header, no final newline")
}

func dotLines() []byte {
	return []byte(crlf(`From: Dots <dots@example.org>
To: rcpt@example.com
Subject: Lines starting with dots
Date: Sat, 18 May 2024 13:00:00 +0000
Content-Type: text/plain; charset=us-ascii

.
..
.leading dot
...three dots
. space after a dot
a line
.
`))
}

func garbageParams() []byte {
	return []byte(crlf(`From: Garbage <garbage@example.org>
To: rcpt@example.com
Subject: Garbage parameters
Date: Sat, 18 May 2024 14:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=----=_Part_0_12345.67890; ;foo; =bar;
 charset=; x-junk="unterminated

------=_Part_0_12345.67890
Content-Type: text/plain; charset="utf-8"; format=flowed; charset=iso-8859-1

Duplicate charset: the first one wins.
------=_Part_0_12345.67890
Content-Type: text/plain (Plain text); charset=us-ascii (ASCII)

Comments in the Content-Type.
------=_Part_0_12345.67890
Content-Type: TEXT/HTML; CHARSET=UTF-8

<p>Upper case.</p>
------=_Part_0_12345.67890
Content-Type: image

A type without a subtype is text/plain.
------=_Part_0_12345.67890--
`))
}

// deepNesting nests 120 multiparts, past the parser's depth limit.
func deepNesting() []byte {
	var b strings.Builder
	b.WriteString(crlf(`From: Nest <nest@example.org>
To: rcpt@example.com
Subject: 120 nested multiparts
Date: Sat, 18 May 2024 15:00:00 +0000
MIME-Version: 1.0
`))
	const n = 120
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%03d\"\r\n\r\n--b%03d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ndeepest\r\n")
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%03d--\r\n", i)
	}
	return []byte(b.String())
}

func noContentType() []byte {
	return []byte(crlf(`From: Old Mailer <old@example.org>
To: rcpt@example.com, "Doe, John" <john.doe@example.com>, root
Subject: No Content-Type at all
Date: 18 May 2024 16:00 GMT
Message-ID: <old-1@example.org>

Plain old RFC 822 mail.
Second line.
`))
}

func mixedLineEndings() []byte {
	return []byte("From: Mixed <mixed@example.org>\r\n" +
		"To: rcpt@example.com\n" +
		"Subject: Mixed CRLF and LF\r\n" +
		"Date: Sat, 18 May 2024 17:00:00 +0000\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"mix\"\n" +
		"\r\n" +
		"--mix\n" +
		"Content-Type: text/plain\r\n" +
		"\n" +
		"LF then CRLF\r\n" +
		"--mix\r\n" +
		"Content-Type: text/plain\n" +
		"\r\n" +
		"CRLF then LF\n" +
		"--mix--\n")
}

func emptyMultipart() []byte {
	return []byte(crlf(`From: Empty Multipart <em@example.org>
To: rcpt@example.com
Subject: A multipart with no parts
Date: Sat, 18 May 2024 18:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="nothing"

--nothing--
`))
}
