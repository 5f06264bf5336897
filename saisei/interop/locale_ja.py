"""Japanese for the interop app's messages (English msgid -> Japanese)."""

JA: dict[str, str] = {
    "'%(value)s' is not a valid date.": "'%(value)s' は有効な日付ではありません。",
    "'%(value)s' is not a valid date-time.": "'%(value)s' は有効な日時ではありません。",
    "The date-time '%(value)s' needs a time zone (FHIR requires one with a time).": (
        "日時 '%(value)s' にはタイムゾーンが必要です（FHIR では時刻にタイムゾーンが必須です）。"
    ),
    "%(name)s must be a whole number.": "%(name)s は整数で指定してください。",
    "%(name)s must be at least %(min)d.": "%(name)s は %(min)d 以上で指定してください。",
    "%(name)s must be between %(min)d and %(max)d.": (
        "%(name)s は %(min)d から %(max)d の間で指定してください。"
    ),
    "'%(value)s' is not a valid _lastUpdated value.": (
        "'%(value)s' は _lastUpdated の値として有効ではありません。"
    ),
    "The search parameter '%(name)s' is not supported for %(type)s.": (
        "検索パラメータ '%(name)s' は %(type)s では使えません。"
    ),
    "Only GET is supported by this FHIR server.": "この FHIR サーバーは GET のみ対応しています。",
    "Authentication is required (a Bearer token or a signed-in session).": (
        "認証が必要です（Bearer トークンまたはログイン中のセッション）。"
    ),
    "This account belongs to no organisation.": "このアカウントはどの組織にも属していません。",
    "Something went wrong on our side; the error was logged.": (
        "サーバー側で問題が発生しました。エラーは記録されました。"
    ),
    "The resource type '%(type)s' is not supported.": (
        "リソース種別 '%(type)s' には対応していません。"
    ),
    "Your roles do not allow reading %(type)s resources.": (
        "あなたの役割では %(type)s リソースを閲覧できません。"
    ),
    "%(type)s/%(id)s is not known to this server.": "%(type)s/%(id)s はこのサーバーにありません。",
    "No such FHIR endpoint.": "そのような FHIR エンドポイントはありません。",
}
