"""Japanese translations for the ISBT 128 messages, for the lead to merge into the .po catalogue."""

JA: dict[str, str] = {
    "chain of identity prefix": "CoI識別子の接頭辞",
    "facility identification number": "施設識別番号（FIN）",
    "year": "年",
    "sequence number": "連番",
    "chain of identity identifier": "Chain of Identity識別子",
    "date": "日付",
    "time": "時刻",
    "flag characters": "フラグ文字",
    "donation identification number": "採取識別番号（DIN）",
    "Nothing was scanned.": "スキャンされたデータがありません。",
    "The code %(identifier)s is not an ISBT 128 data structure this system recognises.": (
        "コード %(identifier)s は、このシステムが認識できるISBT 128データ構造ではありません。"
    ),
    "The scanned text does not start with an ISBT 128 data identifier (= or &); "
    "it may not be an ISBT 128 bar code.": (
        "スキャンした文字列がISBT 128のデータ識別子（= または &）で始まっていません。"
        "ISBT 128のバーコードではない可能性があります。"
    ),
    "The scan starts with %(character)s where = or & was expected. The scanner's keyboard "
    "layout probably does not match the computer's (for example US versus Japanese).": (
        "= または & があるべき先頭が %(character)s になっています。スキャナーとコンピューターの"
        "キーボード配列（例：英語配列と日本語配列）が一致していない可能性があります。"
    ),
    "The %(structure)s has %(found)s characters; %(expected)s were expected.": (
        "%(structure)sの文字数が%(found)s文字です（%(expected)s文字である必要があります）。"
    ),
    "The character %(character)s at position %(position)s is not allowed in the %(field)s.": (
        "%(position)s文字目の %(character)s は%(field)sに使用できない文字です。"
    ),
    "The check character does not match the %(structure)s. A character was probably "
    "misread or mistyped: scan or type it again.": (
        "チェック文字が%(structure)sと一致しません。読み取りまたは入力の誤りと考えられます。"
        "もう一度スキャンまたは入力してください。"
    ),
    "Day %(day)s does not exist in the year %(year)s.": "%(year)s年に第%(day)s日は存在しません。",
    "The time %(time)s is not a valid 24-hour clock time (00:00 to 23:59).": (
        "時刻 %(time)s は有効な24時間制の時刻（00:00〜23:59）ではありません。"
    ),
    "The division code %(division)s is not valid: a second-level division needs a first level.": (
        "分割コード %(division)s は無効です。第2階層の分割には第1階層の分割が必要です。"
    ),
    "The division code %(division)s is not one this system can interpret.": (
        "分割コード %(division)s はこのシステムでは解釈できません。"
    ),
    "The flag characters %(flags)s are reserved by ICCBBA and have no assigned meaning.": (
        "フラグ文字 %(flags)s はICCBBAの予約値で、意味が割り当てられていません。"
    ),
    "Facility %(facility)s is not in the configured facility list.": (
        "施設 %(facility)s は設定された施設一覧にありません。"
    ),
    "Product description code %(code)s is not in the configured product list.": (
        "製品記述コード %(code)s は設定された製品一覧にありません。"
    ),
    "Data structure %(number)s has been retired by ICCBBA; its content is not interpreted.": (
        "データ構造 %(number)s はICCBBAにより廃止されているため、内容は解釈しません。"
    ),
    "The code %(identifier)s is a nationally or locally defined structure; "
    "its content is passed on uninterpreted.": (
        "コード %(identifier)s は国または施設で定義された構造のため、内容を解釈せずに渡します。"
    ),
    "A nationally or locally defined structure may not be part of a compound message.": (
        "国または施設で定義された構造は複合メッセージに含めることができません。"
    ),
    "The compound message announces %(expected)s data structures but %(found)s were read; "
    "the scan may be incomplete.": (
        "複合メッセージには%(expected)s個のデータ構造があるはずですが、%(found)s個しか"
        "読み取れませんでした。スキャンが不完全な可能性があります。"
    ),
    "The %(field)s must be between %(minimum)s and %(maximum)s.": (
        "%(field)sは%(minimum)s〜%(maximum)sの範囲で指定してください。"
    ),
    "product description code": "製品記述コード",
    "collection type": "採取区分",
    "division code": "分割コード",
    "product code": "製品コード",
    "product divisions": "製品分割",
    "division": "分割",
    "scanned code": "スキャンしたコード",
    "blood group": "血液型",
    "expiration date": "有効期限日",
    "expiration date and time": "有効期限日時",
    "collection date": "採取日",
    "collection date and time": "採取日時",
    "production date": "製造日",
    "production date and time": "製造日時",
    "special testing code": "特殊検査コード",
    "retired structure": "廃止されたデータ構造",
    "red cell antigens": "赤血球抗原",
    "platelet and HLA antigens": "血小板・HLA抗原",
    "container catalogue number": "容器カタログ番号",
    "container lot number": "容器ロット番号",
    "donor identification number": "ドナー識別番号",
    "staff member identification": "職員識別番号",
    "item catalogue number": "物品カタログ番号",
    "item lot number": "物品ロット番号",
    "compound message header": "複合メッセージの見出し",
    "patient date of birth": "患者の生年月日",
    "patient identification number": "患者識別番号",
    "expiration month": "有効期限月",
    "infectious markers": "感染症マーカー",
    "product consignment": "製品出荷",
    "dimensions": "寸法",
    "flexible date and time": "汎用日時",
    "processing facility code": "処理施設コード",
    "processor product identification": "処理施設製品識別コード",
    "MPHO lot number": "MPHOロット番号",
    "MPHO supplemental identification": "MPHO補足識別番号",
    "Single European Code": "単一欧州コード（SEC）",
    "donor registration identifier": "ドナー登録識別子",
    "national donor identification": "国内ドナー識別番号",
    "confidential unit exclusion status": "秘密自己除外ステータス",
    "national or local structure": "国または施設定義の構造",
    "data": "データ",
}
