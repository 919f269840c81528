"""Text and voices for synthetic training speech, with fixed train / held-out splits.

Sentences are built from per-language templates and word lists chosen to be rich in
bilabials (p, b, m), labiodentals (f, v) and open vowels, the sounds whose lip shapes
loudness alone cannot predict. Each language yields thousands of distinct sentences.

Splits are deterministic and independent of generation order:

* sentences: a sentence is held out when a hash of its text falls in the held-out
  tenth, so the same sentence is always on the same side;
* voices: voice variants (timbres) and some dialects are reserved for held-out; a
  held-out voice is never used for training, so held-out scores measure speakers the
  model has not heard.
"""

from __future__ import annotations

import hashlib
import itertools
import random
from dataclasses import dataclass
from functools import cache
from typing import Literal

Split = Literal["train", "heldout"]
SPLITS: tuple[Split, ...] = ("train", "heldout")
HELDOUT_SENTENCE_FRACTION = 0.1
SENTENCES_PER_LANGUAGE = 4000


@dataclass(frozen=True)
class LanguageText:
    """Word lists for one language; ``{S} {V} {O} {P}`` etc. fill templates."""

    subjects: tuple[str, ...]
    verbs: tuple[str, ...]
    objects: tuple[str, ...]
    places: tuple[str, ...]
    tails: tuple[str, ...]
    questions: tuple[str, ...]
    short: tuple[str, ...]
    templates: tuple[str, ...]


_T_SVO = ("{S} {V} {O} {P}.", "{S} {V} {O}, {T}.", "{Q} {O} {P}?", "{Pc}, {s} {V} {O}.")
_T_V2 = ("{S} {V} {O} {P}.", "{S} {V} {O}, {T}.", "{Q} {O} {P}?", "{Pc} {V} {s} {O}.")

TEXTS: dict[str, LanguageText] = {
    "en": LanguageText(
        subjects=("Paul", "My brother Bob", "The baker", "Emma", "A happy pilot", "Pam and Mark",
                  "The old captain", "Our mother", "Barbara", "The boss", "Peter's father", "A small boy",
                  "Mabel", "The farmer"),
        verbs=("bought", "packed", "painted", "brought", "dropped", "borrowed", "grabbed", "carried",
               "baked", "opened", "wrapped", "found", "swapped", "probably moved"),
        objects=("a big map", "the purple box", "an apple pie", "a bag of plums", "the blue lamp",
                 "a pot of jam", "the paper boat", "some warm bread", "a heavy tuba", "the big hammer",
                 "a cup of coffee", "five bottles of water", "a map of Paris", "the bamboo basket"),
        places=("in the park", "at the market", "by the pond", "after the match", "on Monday morning",
                "before bedtime", "at the pub", "on the bumpy path", "in the basement", "by the harbour",
                "at the bus stop", "past the barn", "in the palace", "above the bakery"),
        tails=("and mum was amazed", "but nobody paid", "just for fun", "by the way", "believe me",
               "and everybody laughed", "for a very famous band", "as promised", "maybe by mistake",
               "without a problem"),
        questions=("Have you seen", "Who wants", "Why is there", "May I borrow", "Did Bob buy",
                   "Who painted", "Where did you put"),
        short=("Perfect!", "By all means.", "Bye, Mom!", "Maybe.", "Absolutely.", "Oh, my papa!",
               "Pardon me?", "Not bad at all.", "Fabulous!", "Please, be patient."),
        templates=_T_SVO,
    ),
    "de": LanguageText(
        subjects=("Paul", "Mein Bruder Bernd", "Die Bäckerin", "Mama", "Der alte Kapitän", "Papa",
                  "Barbara", "Ein kleiner Bube", "Die Mutter", "Der Bauer", "Peter", "Frau Baumann"),
        verbs=("kaufte", "packte", "malte", "brachte", "bemerkte", "borgte", "backte", "öffnete",
               "vermisste", "fand", "probierte", "bewahrte"),
        objects=("eine große Mappe", "den blauen Ball", "einen Apfelkuchen", "eine Tüte Pflaumen",
                 "die alte Lampe", "ein Glas Marmelade", "das Papierboot", "warmes Brot",
                 "eine Tuba", "den schweren Hammer", "eine Tasse Kaffee", "fünf Flaschen Wasser",
                 "eine Palme", "den Bambuskorb"),
        places=("im Park", "auf dem Markt", "am Montagmorgen", "beim Bahnhof", "vor dem Abendbrot",
                "im Palast", "am Hafen", "hinter der Scheune", "im Keller", "bei der Bäckerei",
                "auf dem Berg", "am Brunnen"),
        tails=("und Mama war baff", "aber niemand bezahlte", "nur zum Spaß", "ganz bestimmt",
               "glaub mir", "und alle lachten", "wie versprochen", "vielleicht aus Versehen",
               "ohne Probleme", "zum Abschied"),
        questions=("Hast du", "Wer möchte", "Wo ist", "Darf ich", "Wer malte", "Wo bleibt"),
        short=("Prima!", "Bitte sehr.", "Mach's gut, Mama!", "Vielleicht.", "Bestimmt.",
               "Ach, Papa!", "Wie bitte?", "Gar nicht schlecht.", "Wunderbar!", "Bitte, warte mal."),
        templates=_T_V2,
    ),
    "fr": LanguageText(
        subjects=("Paul", "Mon frère Bernard", "La boulangère", "Maman", "Le vieux capitaine", "Papa",
                  "Barbara", "Un petit garçon", "Pauline", "Le patron", "Pierre", "Madame Bompard"),
        verbs=("a acheté", "a apporté", "a peint", "a emballé", "a emprunté", "a perdu", "a trouvé",
               "a ouvert", "a préparé", "a posé", "a pris", "a montré"),
        objects=("une grande carte", "le ballon bleu", "une tarte aux pommes", "un panier de prunes",
                 "la vieille lampe", "un pot de confiture", "le bateau en papier", "du pain chaud",
                 "un marteau", "une tasse de café", "cinq bouteilles d'eau", "un bambou",
                 "le paquet mauve", "une pomme"),
        places=("au parc", "au marché", "lundi matin", "à la gare", "avant le dîner", "au palais",
                "au port", "dans la cave", "à la boulangerie", "sur la montagne", "près du bassin",
                "au bord de la mer"),
        tails=("et maman était bouche bée", "mais personne n'a payé", "pour le plaisir",
               "bien sûr", "crois-moi", "et tout le monde a ri", "comme promis",
               "peut-être par erreur", "sans problème", "pour son papa"),
        questions=("As-tu vu", "Qui veut", "Où est", "Puis-je prendre", "Qui a peint", "Pourquoi pas"),
        short=("Parfait!", "Bien sûr.", "Au revoir, maman!", "Peut-être.", "Bravo!", "Oh, mon papa!",
               "Pardon?", "Pas mal du tout.", "Magnifique!", "Patience, s'il te plaît."),
        templates=_T_SVO,
    ),
    "es": LanguageText(
        subjects=("Pablo", "Mi hermano Beto", "La panadera", "Mamá", "El viejo capitán", "Papá",
                  "Bárbara", "Un niño pequeño", "Paloma", "El patrón", "Pedro", "La señora Bermúdez"),
        verbs=("compró", "trajo", "pintó", "empacó", "pidió", "perdió", "encontró", "abrió",
               "preparó", "puso", "buscó", "mostró"),
        objects=("un mapa grande", "la pelota blanca", "una tarta de manzana", "una bolsa de ciruelas",
                 "la lámpara vieja", "un bote de mermelada", "el barco de papel", "pan caliente",
                 "un martillo", "una taza de café", "cinco botellas de agua", "una palmera",
                 "el paquete morado", "una manzana"),
        places=("en el parque", "en el mercado", "el lunes por la mañana", "en la estación",
                "antes de la cena", "en el palacio", "en el puerto", "en el sótano", "en la panadería",
                "en la montaña", "junto al lago", "al lado del mar"),
        tails=("y mamá se quedó boquiabierta", "pero nadie pagó", "por placer", "por supuesto",
               "créeme", "y todos se rieron", "como prometió", "tal vez por error", "sin problema",
               "para su papá"),
        questions=("¿Has visto", "¿Quién quiere", "¿Dónde está", "¿Puedo tomar", "¿Quién pintó",
                   "¿Por qué compraste"),
        short=("¡Perfecto!", "Por supuesto.", "¡Adiós, mamá!", "Tal vez.", "¡Bravo!", "¡Ay, papá!",
               "¿Perdón?", "Nada mal.", "¡Magnífico!", "Paciencia, por favor."),
        templates=("{S} {V} {O} {P}.", "{S} {V} {O}, {T}.", "{Q} {O} {P}?", "{Pc}, {s} {V} {O}."),
    ),
    "it": LanguageText(
        subjects=("Paolo", "Mio fratello Bruno", "La panettiera", "Mamma", "Il vecchio capitano",
                  "Papà", "Barbara", "Un bambino", "Paola", "Il padrone", "Pietro", "La signora Bianchi"),
        verbs=("ha comprato", "ha portato", "ha dipinto", "ha impacchettato", "ha preso in prestito",
               "ha perso", "ha trovato", "ha aperto", "ha preparato", "ha messo", "ha cercato",
               "ha mostrato"),
        objects=("una mappa grande", "la palla blu", "una torta di mele", "un sacco di prugne",
                 "la vecchia lampada", "un vasetto di marmellata", "la barca di carta", "pane caldo",
                 "un martello", "una tazza di caffè", "cinque bottiglie d'acqua", "una palma",
                 "il pacco viola", "una mela"),
        places=("al parco", "al mercato", "lunedì mattina", "alla stazione", "prima di cena",
                "nel palazzo", "al porto", "in cantina", "in panetteria", "in montagna",
                "vicino al lago", "in riva al mare"),
        tails=("e mamma era a bocca aperta", "ma nessuno ha pagato", "per piacere", "certo",
               "credimi", "e tutti hanno riso", "come promesso", "forse per sbaglio",
               "senza problemi", "per il suo papà"),
        questions=("Hai visto", "Chi vuole", "Dove è", "Posso prendere", "Chi ha dipinto",
                   "Perché hai comprato"),
        short=("Perfetto!", "Certo.", "Ciao, mamma!", "Forse.", "Bravo!", "Oh, papà mio!",
               "Prego?", "Niente male.", "Magnifico!", "Pazienza, per favore."),
        templates=_T_SVO,
    ),
    "pt": LanguageText(
        subjects=("Paulo", "Meu irmão Bento", "A padeira", "Mamãe", "O velho capitão", "Papai",
                  "Bárbara", "Um menino", "Paula", "O patrão", "Pedro", "A senhora Barbosa"),
        verbs=("comprou", "trouxe", "pintou", "embrulhou", "pediu", "perdeu", "encontrou", "abriu",
               "preparou", "pôs", "buscou", "mostrou"),
        objects=("um mapa grande", "a bola branca", "uma torta de maçã", "um saco de ameixas",
                 "a lâmpada velha", "um pote de geleia", "o barco de papel", "pão quente",
                 "um martelo", "uma xícara de café", "cinco garrafas de água", "uma palmeira",
                 "o pacote roxo", "uma maçã"),
        places=("no parque", "no mercado", "na segunda de manhã", "na estação", "antes do jantar",
                "no palácio", "no porto", "no porão", "na padaria", "na montanha",
                "perto do lago", "à beira-mar"),
        tails=("e mamãe ficou boquiaberta", "mas ninguém pagou", "por prazer", "claro",
               "acredite", "e todos riram", "como prometido", "talvez por engano", "sem problema",
               "para o seu papai"),
        questions=("Você viu", "Quem quer", "Onde está", "Posso pegar", "Quem pintou",
                   "Por que comprou"),
        short=("Perfeito!", "Claro.", "Tchau, mamãe!", "Talvez.", "Bravo!", "Ai, papai!",
               "Perdão?", "Nada mal.", "Magnífico!", "Paciência, por favor."),
        templates=_T_SVO,
    ),
    "nl": LanguageText(
        subjects=("Paul", "Mijn broer Bram", "De bakker", "Mama", "De oude kapitein", "Papa",
                  "Barbara", "Een kleine jongen", "Petra", "De baas", "Pieter", "Mevrouw Bakker"),
        verbs=("kocht", "pakte", "schilderde", "bracht", "leende", "verloor", "vond", "opende",
               "maakte", "zette", "zocht", "toonde"),
        objects=("een grote kaart", "de blauwe bal", "een appeltaart", "een zak pruimen",
                 "de oude lamp", "een pot jam", "het papieren bootje", "warm brood",
                 "een zware hamer", "een kop koffie", "vijf flessen water", "een palmboom",
                 "het paarse pakje", "een mand bamboe"),
        places=("in het park", "op de markt", "maandagmorgen", "bij het station", "voor het avondeten",
                "in het paleis", "in de haven", "in de kelder", "bij de bakkerij", "op de berg",
                "bij de vijver", "aan zee"),
        tails=("en mama was paf", "maar niemand betaalde", "voor de grap", "zeker weten",
               "geloof me", "en iedereen lachte", "zoals beloofd", "misschien per ongeluk",
               "zonder problemen", "voor zijn papa"),
        questions=("Heb jij", "Wie wil", "Waar is", "Mag ik", "Wie schilderde", "Waarom kocht je"),
        short=("Perfect!", "Graag gedaan.", "Dag, mama!", "Misschien.", "Bravo!", "Och, papa!",
               "Pardon?", "Helemaal niet slecht.", "Prachtig!", "Even geduld, alsjeblieft."),
        templates=_T_V2,
    ),
    "pl": LanguageText(
        subjects=("Paweł", "Mój brat Bartek", "Piekarz", "Mama", "Stary kapitan", "Tata",
                  "Barbara", "Mały chłopiec", "Pani Basia", "Szef", "Piotr", "Marek"),
        verbs=("kupuje", "pakuje", "maluje", "przynosi", "pożycza", "gubi", "znajduje", "otwiera",
               "piecze", "bierze", "szuka", "pokazuje"),
        objects=("dużą mapę", "niebieską piłkę", "placek z jabłkami", "worek śliwek",
                 "starą lampę", "słoik dżemu", "papierową łódkę", "ciepły chleb", "ciężki młotek",
                 "filiżankę kawy", "pięć butelek wody", "bambusowy koszyk", "fioletową paczkę",
                 "jabłko"),
        places=("w parku", "na rynku", "w poniedziałek rano", "na dworcu", "przed obiadem",
                "w pałacu", "w porcie", "w piwnicy", "w piekarni", "w górach", "nad stawem",
                "nad morzem"),
        tails=("a mama była zdumiona", "ale nikt nie zapłacił", "dla zabawy", "oczywiście",
               "wierz mi", "i wszyscy się śmiali", "jak obiecał", "może przez pomyłkę",
               "bez problemu", "dla swojego taty"),
        questions=("Czy widziałeś", "Kto chce", "Gdzie jest", "Czy mogę pożyczyć", "Kto pomalował",
                   "Po co kupiłeś"),
        short=("Doskonale!", "Proszę bardzo.", "Pa, mamo!", "Może.", "Brawo!", "Oj, tato!",
               "Przepraszam?", "Nieźle.", "Wspaniale!", "Proszę o cierpliwość."),
        templates=("{S} {V} {O} {P}.", "{S} {V} {O}, {T}.", "{Q} {O} {P}?", "{Pc} {s} {V} {O}."),
    ),
}
LANGUAGES: tuple[str, ...] = tuple(TEXTS)

# espeak voices (dialects) per language; the ones in HELDOUT_DIALECTS only speak held-out clips.
DIALECTS: dict[str, tuple[str, ...]] = {
    "en": ("en", "en-us", "en-gb-x-rp", "en-us-nyc", "en-gb-scotland", "en-029"),
    "de": ("de",),
    "fr": ("fr", "fr-be", "fr-ch"),
    "es": ("es", "es-419"),
    "it": ("it",),
    "pt": ("pt", "pt-br"),
    "nl": ("nl",),
    "pl": ("pl",),
}
HELDOUT_DIALECTS = frozenset({"en-gb-scotland", "en-029", "fr-ch", "es-419"})
# espeak voice variants (timbres); '' is the dialect's own voice. Robotic/whisper variants left out.
TRAIN_VARIANTS: tuple[str, ...] = (
    "", "m1", "m2", "m4", "m5", "m6", "m7", "f1", "f3", "f5", "klatt", "klatt2", "klatt3",
    "Andy", "anika", "boris", "david", "ed", "edward", "iven", "john", "linda", "max", "norbert",
    "paul", "pedro", "shelby", "steph", "travis", "victor", "zac", "aunty",
)
HELDOUT_VARIANTS: tuple[str, ...] = ("m3", "f2", "f4", "klatt4", "Annie", "rob", "michel", "belinda")


def stable_unit(text: str) -> float:
    """A number in [0, 1) fixed by the text (not Python's salted hash)."""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64


def sentence_split(sentence: str) -> Split:
    return "heldout" if stable_unit(sentence) < HELDOUT_SENTENCE_FRACTION else "train"


def _fill(lt: LanguageText, template: str, rng: random.Random) -> str:
    pick = rng.choice
    subject, place = pick(lt.subjects), pick(lt.places)
    first, _, rest = subject.partition(" ")
    s_mid = f"{first.lower()} {rest}" if first in _LOWER_MID_SENTENCE and rest else subject
    return template.format(S=subject, s=s_mid, V=pick(lt.verbs), O=pick(lt.objects), P=place,
                           Pc=place[:1].upper() + place[1:], T=pick(lt.tails), Q=pick(lt.questions))


# Sentence-initial function words written lower-case when the subject moves mid-sentence.
_LOWER_MID_SENTENCE = frozenset(
    ["My", "The", "A", "Our", "Mein", "Die", "Der", "Ein", "Mon", "La", "Le", "Un", "Mi", "El", "Mio", "Il", "Meu", "O", "Um", "Mijn", "De", "Een", "Mój", "Stary", "Mały"]
)


@cache
def _all_sentences(language: str) -> tuple[str, ...]:
    if language not in TEXTS:
        raise ValueError(f"no corpus for language {language!r}; available: {', '.join(LANGUAGES)}")
    lt = TEXTS[language]
    rng = random.Random(int(stable_unit("corpus/" + language) * 2**32))  # stable across versions
    seen: dict[str, None] = dict.fromkeys(lt.short)
    tries = 0
    while len(seen) < SENTENCES_PER_LANGUAGE and tries < 20 * SENTENCES_PER_LANGUAGE:
        tries += 1
        seen.setdefault(_fill(lt, rng.choice(lt.templates), rng))
    return tuple(seen)


@cache
def sentences(language: str, split: Split) -> tuple[str, ...]:
    """Distinct sentences of ``language`` on one side of the split (deterministic)."""
    return tuple(s for s in _all_sentences(language) if sentence_split(s) == split)


def voices(language: str, split: Split) -> tuple[str, ...]:
    """espeak voice names for ``language``: train and held-out sets never share a voice."""
    if language not in DIALECTS:
        raise ValueError(f"no voices for language {language!r}; available: {', '.join(DIALECTS)}")
    if split == "train":
        pairs = itertools.product([d for d in DIALECTS[language] if d not in HELDOUT_DIALECTS], TRAIN_VARIANTS)
    else:
        pairs = itertools.product(DIALECTS[language], HELDOUT_VARIANTS)
    return tuple(f"{d}+{v}" if v else d for d, v in pairs)
