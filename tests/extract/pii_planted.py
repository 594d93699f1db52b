"""Real-format PII planted into real page texts to measure the redaction's recall.

Each entry: (sentence with the value in it, kind, value). Phone numbers are written the way people
write them in each country (national forms with the usual spacing and brackets, international
forms with +CC), each a valid number for libphonenumber; emails with real providers' domains and
country TLDs; IPv4/IPv6 addresses in public, routed ranges. A few are hard on purpose: national
numbers with no cue word nearby (a signature line), which the redactor leaves (it needs a cue
before a national number, so dates and order numbers stay).
"""

PLANTED: list[tuple[str, str, str]] = [
    # phones, international form (no cue needed)
    ("Call me at +1 415-555-2671 after six.", "phones", "+1 415-555-2671"),
    ("Tel. +44 20 7946 0958", "phones", "+44 20 7946 0958"),
    ("Ansprechpartnerin: Frau Berg, +49 (0)89 123456-0", "phones", "+49 (0)89 123456-0"),
    ("Joignable au +33 6 12 34 56 78 le soir.", "phones", "+33 6 12 34 56 78"),
    ("携帯は +81 90-1234-5678 です。", "phones", "+81 90-1234-5678"),
    ("北京办公室 +86 10 6552 9988", "phones", "+86 10 6552 9988"),
    ("Ph: +91 98765 43210", "phones", "+91 98765 43210"),
    ("WhatsApp +55 11 91234-5678", "phones", "+55 11 91234-5678"),
    ("Escríbeme o llama al +34 612 34 56 78.", "phones", "+34 612 34 56 78"),
    ("Marco: +39 347 123 4567", "phones", "+39 347 123 4567"),
    ("Mijn nummer is +31 6 12345678.", "phones", "+31 6 12345678"),
    ("Tel.: +48 22 123 45 67", "phones", "+48 22 123 45 67"),
    ("Тел.: +7 495 123-45-67", "phones", "+7 495 123-45-67"),
    ("Sydney office +61 2 9374 4000", "phones", "+61 2 9374 4000"),
    ("Zürich: +41 44 668 18 00", "phones", "+41 44 668 18 00"),
    ("Wien +43 1 53114 0", "phones", "+43 1 53114 0"),
    ("Jane Doe, +1 646-461-8437, New York", "phones", "+1 646-461-8437"),
    ("Reach me on 0044 7911 123456 while I travel.", "phones", "0044 7911 123456"),
    # phones, national form after a cue word
    ("Phone: (212) 736-5000", "phones", "(212) 736-5000"),
    ("Fax: (416) 979-4000", "phones", "(416) 979-4000"),
    ("Call us at 415.555.2671 for a quote.", "phones", "415.555.2671"),
    ("Telefon: 030 901820", "phones", "030 901820"),
    ("Mobil: 0151 23456789", "phones", "0151 23456789"),
    ("Rufnummer 089/123456-0", "phones", "089/123456-0"),
    ("Téléphone : 01 42 68 53 00", "phones", "01 42 68 53 00"),
    ("Appelez-moi au 06 12 34 56 78.", "phones", "06 12 34 56 78"),
    ("電話: 03-1234-5678", "phones", "03-1234-5678"),
    ("联系电话：138 0013 8000", "phones", "138 0013 8000"),
    ("Telefone: (11) 3456-7890", "phones", "(11) 3456-7890"),
    ("Teléfono: 912 345 678", "phones", "912 345 678"),
    ("Tel. 06 1234 5678", "phones", "06 1234 5678"),
    ("Bel ons: 020 123 4567", "phones", "020 123 4567"),
    ("Zadzwoń: 512 345 678", "phones", "512 345 678"),
    ("mobile 0412 345 678", "phones", "0412 345 678"),
    ("text me on 07911 123456", "phones", "07911 123456"),
    ("Hotline 0800 123 4567", "phones", "0800 123 4567"),
    # phones, national form with no cue (hard: expected to be missed)
    ("John Smith | 0412 345 678 | Brisbane", "phones", "0412 345 678"),
    ("Frau Meier 030 901820 (ab 18 Uhr)", "phones", "030 901820"),
    # emails
    ("Write to jane.doe@gmail.com for the slides.", "emails", "jane.doe@gmail.com"),
    ("E-Mail: max.mustermann@t-online.de", "emails", "max.mustermann@t-online.de"),
    ("(contact: li.wei@163.com)", "emails", "li.wei@163.com"),
    ("Reply to <a.kowalski@wp.pl> please.", "emails", "a.kowalski@wp.pl"),
    ("Mail: J.Smith+news@Outlook.co.uk", "emails", "J.Smith+news@Outlook.co.uk"),
    ("メール yamada_taro@docomo.ne.jp まで", "emails", "yamada_taro@docomo.ne.jp"),
    ("Scrivete a m.rossi@libero.it.", "emails", "m.rossi@libero.it"),
    ("Пишите: ivanov@yandex.ru", "emails", "ivanov@yandex.ru"),
    ("Contato: joao.silva@uol.com.br", "emails", "joao.silva@uol.com.br"),
    ("priya.sharma@rediffmail.com wrote:", "emails", "priya.sharma@rediffmail.com"),
    ("kim.minjun@naver.com 으로 연락주세요", "emails", "kim.minjun@naver.com"),
    ("Send CVs to jobs@my-startup.io today", "emails", "jobs@my-startup.io"),
    ("first.last@sub.dept.university.edu is my address", "emails", "first.last@sub.dept.university.edu"),
    ("Proton: user_123@proton.me", "emails", "user_123@proton.me"),
    # IP addresses
    ("Failed password for root from 185.220.101.4 port 51312 ssh2", "ips", "185.220.101.4"),
    ("The attacker's IP was 45.33.32.156.", "ips", "45.33.32.156"),
    ("client 86.12.45.201 connected", "ips", "86.12.45.201"),
    ("my home IP is 73.158.12.9 today", "ips", "73.158.12.9"),
    ("Server at 151.101.1.69:443 refused", "ips", "151.101.1.69"),
    ("(IP: 104.16.132.229)", "ips", "104.16.132.229"),
    ("IPv4 62.210.18.40, IPv6 below", "ips", "62.210.18.40"),
    ("visitor 81.2.69.160 left a comment", "ips", "81.2.69.160"),
    ("My IPv6 is 2a02:8109:b6bf:f700:6d4c:3e1a:9c2f:1a0b now.", "ips", "2a02:8109:b6bf:f700:6d4c:3e1a:9c2f:1a0b"),
    ("ping 2a00:1450:4001:82b::200e failed", "ips", "2a00:1450:4001:82b::200e"),
    ("connect to [2a01:4f8:c17:1b2::1]:443", "ips", "2a01:4f8:c17:1b2::1"),
    ("from 2604:a880:400:d0::2051:c001 at 10:42", "ips", "2604:a880:400:d0::2051:c001"),
    ("host 2400:cb00:2049:1::a29f:1804 answered", "ips", "2400:cb00:2049:1::a29f:1804"),
]
