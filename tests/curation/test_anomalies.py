"""Language and symbol-ratio signals."""

from curation.anomalies import dominant_language, language_of, symbol_ratio


def test_language_of_common_languages():
    assert language_of("Thanks for your message, we will ship it to you this week and you can track it.") == "en"
    assert language_of("Merci pour votre message, votre commande est partie et nous vous envoyons le suivi.") == "fr"
    assert language_of("Vielen Dank, die Bestellung ist unterwegs und wir schicken Ihnen die Nummer.") == "de"
    assert language_of("ok") is None


def test_dominant_language():
    langs, main = dominant_language(["You can return it within the month and we will refund you."] * 3 + ["ok"])
    assert main == "en" and langs[-1] is None


def test_symbol_ratio_high_for_stack_traces():
    prose, trace = symbol_ratio(["My bike will not charge any more, what should I do?",
                                 "at com.app.ble.Conn.refresh(Conn.kt:212)\n\tat kotlinx.Dispatched.run(Task.kt:108)"])
    assert trace > 2 * prose
