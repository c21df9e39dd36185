/*
 * feat_lexicon.c — the word lists behind the light part-of-speech tagger and
 * the sentiment features.
 *
 * Both lists were written by hand for botwatch (provenance and method in
 * docs/LEXICONS.md): closed-class English and Italian function words with
 * their part of speech, and a seed sentiment lexicon whose valence, arousal,
 * dominance and happiness ratings (1-9, 5 = neutral) and polarity were
 * assigned by the project's authors. They are not copies of ANEW, labMT,
 * NRC-VAD or any other published lexicon. Lookups are binary searches over
 * copies sorted once on first use (thread-safe via pthread_once).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "feat_int.h"

struct closed_word {
	const char *w;      /* lower-case word */
	enum feat_pos pos;  /* its part of speech */
};

#define W(word, p) { word, p }
static struct closed_word closed[] = {
	/* English pronouns */
	W("i", POS_PRON), W("me", POS_PRON), W("my", POS_PRON), W("mine", POS_PRON),
	W("myself", POS_PRON), W("you", POS_PRON), W("your", POS_PRON), W("yours", POS_PRON),
	W("yourself", POS_PRON), W("he", POS_PRON), W("him", POS_PRON), W("his", POS_PRON),
	W("himself", POS_PRON), W("she", POS_PRON), W("her", POS_PRON), W("hers", POS_PRON),
	W("herself", POS_PRON), W("it", POS_PRON), W("its", POS_PRON), W("itself", POS_PRON),
	W("we", POS_PRON), W("us", POS_PRON), W("our", POS_PRON), W("ours", POS_PRON),
	W("they", POS_PRON), W("them", POS_PRON), W("their", POS_PRON), W("theirs", POS_PRON),
	W("who", POS_PRON), W("whom", POS_PRON), W("whose", POS_PRON), W("what", POS_PRON),
	W("which", POS_PRON), W("someone", POS_PRON), W("something", POS_PRON),
	W("everyone", POS_PRON), W("everything", POS_PRON), W("nobody", POS_PRON),
	W("nothing", POS_PRON), W("anyone", POS_PRON), W("anything", POS_PRON),
	W("i'm", POS_PRON), W("you're", POS_PRON), W("it's", POS_PRON), W("we're", POS_PRON),
	W("they're", POS_PRON), W("i've", POS_PRON), W("i'll", POS_PRON), W("that's", POS_PRON),
	/* English determiners */
	W("a", POS_DET), W("an", POS_DET), W("the", POS_DET), W("this", POS_DET),
	W("that", POS_DET), W("these", POS_DET), W("those", POS_DET), W("some", POS_DET),
	W("any", POS_DET), W("each", POS_DET), W("every", POS_DET), W("no", POS_DET),
	W("all", POS_DET), W("both", POS_DET), W("either", POS_DET), W("neither", POS_DET),
	W("many", POS_DET), W("much", POS_DET), W("few", POS_DET), W("several", POS_DET),
	W("another", POS_DET), W("such", POS_DET),
	/* English prepositions */
	W("of", POS_ADP), W("in", POS_ADP), W("on", POS_ADP), W("at", POS_ADP), W("to", POS_ADP),
	W("for", POS_ADP), W("with", POS_ADP), W("by", POS_ADP), W("from", POS_ADP),
	W("about", POS_ADP), W("into", POS_ADP), W("over", POS_ADP), W("after", POS_ADP),
	W("before", POS_ADP), W("between", POS_ADP), W("under", POS_ADP), W("without", POS_ADP),
	W("through", POS_ADP), W("during", POS_ADP), W("against", POS_ADP), W("among", POS_ADP),
	W("via", POS_ADP), W("via:", POS_ADP), W("up", POS_ADP), W("down", POS_ADP),
	W("off", POS_ADP), W("out", POS_ADP), W("since", POS_ADP), W("until", POS_ADP),
	W("upon", POS_ADP), W("within", POS_ADP), W("across", POS_ADP), W("behind", POS_ADP),
	/* English conjunctions */
	W("and", POS_CONJ), W("or", POS_CONJ), W("but", POS_CONJ), W("nor", POS_CONJ),
	W("so", POS_CONJ), W("yet", POS_CONJ), W("because", POS_CONJ), W("although", POS_CONJ),
	W("though", POS_CONJ), W("while", POS_CONJ), W("if", POS_CONJ), W("unless", POS_CONJ),
	W("whether", POS_CONJ), W("than", POS_CONJ), W("when", POS_CONJ), W("where", POS_CONJ),
	/* English interjections */
	W("oh", POS_INTJ), W("wow", POS_INTJ), W("lol", POS_INTJ), W("omg", POS_INTJ),
	W("haha", POS_INTJ), W("hahaha", POS_INTJ), W("hey", POS_INTJ), W("yes", POS_INTJ),
	W("yeah", POS_INTJ), W("ok", POS_INTJ), W("okay", POS_INTJ), W("ugh", POS_INTJ),
	W("hi", POS_INTJ), W("hello", POS_INTJ), W("thanks", POS_INTJ), W("please", POS_INTJ),
	W("lmao", POS_INTJ), W("wtf", POS_INTJ), W("yay", POS_INTJ), W("oops", POS_INTJ),
	/* English auxiliaries and modals (verbs) */
	W("is", POS_VERB), W("am", POS_VERB), W("are", POS_VERB), W("was", POS_VERB),
	W("were", POS_VERB), W("be", POS_VERB), W("been", POS_VERB), W("being", POS_VERB),
	W("have", POS_VERB), W("has", POS_VERB), W("had", POS_VERB), W("do", POS_VERB),
	W("does", POS_VERB), W("did", POS_VERB), W("will", POS_VERB), W("would", POS_VERB),
	W("can", POS_VERB), W("could", POS_VERB), W("shall", POS_VERB), W("should", POS_VERB),
	W("may", POS_VERB), W("might", POS_VERB), W("must", POS_VERB), W("get", POS_VERB),
	W("got", POS_VERB), W("go", POS_VERB), W("make", POS_VERB), W("know", POS_VERB),
	W("think", POS_VERB), W("see", POS_VERB), W("want", POS_VERB), W("say", POS_VERB),
	W("don't", POS_VERB), W("can't", POS_VERB), W("won't", POS_VERB), W("didn't", POS_VERB),
	W("isn't", POS_VERB), W("doesn't", POS_VERB),
	/* English adverbs that take no -ly */
	W("not", POS_ADV), W("very", POS_ADV), W("too", POS_ADV), W("also", POS_ADV),
	W("just", POS_ADV), W("now", POS_ADV), W("then", POS_ADV), W("here", POS_ADV),
	W("there", POS_ADV), W("still", POS_ADV), W("already", POS_ADV), W("always", POS_ADV),
	W("never", POS_ADV), W("often", POS_ADV), W("again", POS_ADV), W("soon", POS_ADV),
	W("today", POS_ADV), W("tomorrow", POS_ADV), W("yesterday", POS_ADV), W("even", POS_ADV),
	W("only", POS_ADV), W("well", POS_ADV), W("really", POS_ADV), W("how", POS_ADV),
	W("why", POS_ADV),
	/* English numerals */
	W("one", POS_NUM), W("two", POS_NUM), W("three", POS_NUM), W("four", POS_NUM),
	W("five", POS_NUM), W("six", POS_NUM), W("seven", POS_NUM), W("eight", POS_NUM),
	W("nine", POS_NUM), W("ten", POS_NUM), W("hundred", POS_NUM), W("thousand", POS_NUM),
	W("first", POS_NUM), W("second", POS_NUM), W("third", POS_NUM),
	/* Italian function words (the development sample has Italian accounts) */
	W("il", POS_DET), W("lo", POS_DET), W("la", POS_DET), W("gli", POS_DET), W("le", POS_DET),
	W("un", POS_DET), W("uno", POS_DET), W("una", POS_DET), W("questo", POS_DET),
	W("questa", POS_DET), W("quel", POS_DET), W("quella", POS_DET), W("ogni", POS_DET),
	W("di", POS_ADP), W("da", POS_ADP), W("con", POS_ADP), W("su", POS_ADP), W("per", POS_ADP),
	W("tra", POS_ADP), W("fra", POS_ADP), W("del", POS_ADP), W("della", POS_ADP),
	W("dei", POS_ADP), W("delle", POS_ADP), W("al", POS_ADP), W("alla", POS_ADP),
	W("nel", POS_ADP), W("nella", POS_ADP), W("sul", POS_ADP), W("dal", POS_ADP),
	W("e", POS_CONJ), W("ed", POS_CONJ), W("o", POS_CONJ), W("ma", POS_CONJ),
	W("che", POS_CONJ), W("se", POS_CONJ), W("perché", POS_CONJ), W("quando", POS_CONJ),
	W("anche", POS_ADV), W("non", POS_ADV), W("più", POS_ADV), W("già", POS_ADV),
	W("molto", POS_ADV), W("sempre", POS_ADV), W("mai", POS_ADV), W("ancora", POS_ADV),
	W("io", POS_PRON), W("tu", POS_PRON), W("lui", POS_PRON), W("lei", POS_PRON),
	W("noi", POS_PRON), W("voi", POS_PRON), W("loro", POS_PRON), W("mi", POS_PRON),
	W("ti", POS_PRON), W("ci", POS_PRON), W("si", POS_PRON), W("vi", POS_PRON),
	W("è", POS_VERB), W("sono", POS_VERB), W("ho", POS_VERB), W("ha", POS_VERB),
	W("hanno", POS_VERB), W("era", POS_VERB), W("essere", POS_VERB), W("fare", POS_VERB),
	W("ciao", POS_INTJ), W("grazie", POS_INTJ),
};
#undef W

/* valence, arousal, dominance, happiness on 1..9 (5 neutral); polarity. */
struct senti_word {
	const char *w;          /* lower-case word */
	struct feat_vad vad;    /* its ratings */
};

#define S(word, v, a, d, h, p) { word, { v, a, d, h, p } }
static struct senti_word senti[] = {
	S("love", 8.5f, 6.5f, 6.0f, 8.4f, 1), S("loved", 8.2f, 6.0f, 6.0f, 8.0f, 1),
	S("loves", 8.2f, 6.0f, 6.0f, 8.0f, 1), S("lovely", 8.0f, 5.0f, 6.0f, 7.8f, 1),
	S("like", 6.5f, 4.5f, 5.5f, 6.2f, 1), S("happy", 8.3f, 6.2f, 6.5f, 8.3f, 1),
	S("happiness", 8.4f, 5.8f, 6.5f, 8.4f, 1), S("joy", 8.4f, 6.8f, 6.5f, 8.3f, 1),
	S("great", 7.8f, 5.8f, 6.8f, 7.5f, 1), S("good", 7.5f, 4.5f, 6.5f, 7.2f, 1),
	S("best", 8.0f, 5.8f, 7.0f, 7.8f, 1), S("better", 7.2f, 5.0f, 6.5f, 7.0f, 1),
	S("awesome", 8.2f, 7.0f, 7.0f, 8.0f, 1), S("amazing", 8.2f, 7.2f, 6.8f, 8.0f, 1),
	S("beautiful", 8.2f, 5.8f, 6.2f, 8.0f, 1), S("nice", 7.4f, 4.2f, 6.2f, 7.2f, 1),
	S("fun", 8.0f, 7.0f, 6.5f, 7.9f, 1), S("funny", 7.6f, 6.5f, 6.0f, 7.5f, 1),
	S("win", 8.0f, 7.2f, 7.5f, 7.9f, 1), S("won", 7.9f, 7.0f, 7.4f, 7.8f, 1),
	S("winner", 8.0f, 7.0f, 7.5f, 7.9f, 1), S("thank", 7.8f, 4.2f, 6.0f, 7.6f, 1),
	S("thanks", 7.8f, 4.2f, 6.0f, 7.6f, 1), S("thankful", 8.0f, 4.5f, 6.2f, 7.8f, 1),
	S("grateful", 8.0f, 4.5f, 6.2f, 7.8f, 1), S("excited", 8.0f, 8.0f, 6.5f, 7.8f, 1),
	S("exciting", 8.0f, 7.8f, 6.5f, 7.8f, 1), S("glad", 7.8f, 5.0f, 6.4f, 7.6f, 1),
	S("wonderful", 8.3f, 6.2f, 6.7f, 8.1f, 1), S("perfect", 8.2f, 5.5f, 7.0f, 7.9f, 1),
	S("cool", 7.2f, 5.0f, 6.5f, 7.0f, 1), S("free", 7.6f, 5.8f, 7.0f, 7.4f, 1),
	S("hope", 7.6f, 5.5f, 6.0f, 7.4f, 1), S("smile", 8.0f, 5.2f, 6.5f, 8.0f, 1),
	S("laugh", 8.0f, 6.5f, 6.5f, 8.0f, 1), S("friend", 8.0f, 5.0f, 6.5f, 7.9f, 1),
	S("friends", 8.0f, 5.0f, 6.5f, 7.9f, 1), S("party", 7.8f, 7.5f, 6.5f, 7.6f, 1),
	S("beer", 6.8f, 5.5f, 6.0f, 6.8f, 1), S("music", 7.8f, 5.8f, 6.5f, 7.8f, 1),
	S("sun", 7.6f, 5.5f, 6.0f, 7.5f, 1), S("sunshine", 8.0f, 5.8f, 6.2f, 7.9f, 1),
	S("success", 8.1f, 6.5f, 7.5f, 8.0f, 1), S("proud", 7.8f, 6.2f, 7.5f, 7.5f, 1),
	S("yay", 7.8f, 7.0f, 6.5f, 7.6f, 1), S("congrats", 8.0f, 6.5f, 6.5f, 7.8f, 1),
	S("congratulations", 8.0f, 6.5f, 6.5f, 7.8f, 1), S("enjoy", 7.8f, 5.8f, 6.5f, 7.7f, 1),
	S("peace", 7.8f, 2.8f, 6.0f, 7.8f, 1), S("sweet", 7.6f, 5.0f, 6.0f, 7.4f, 1),
	S("kind", 7.4f, 4.0f, 6.2f, 7.2f, 1), S("welcome", 7.5f, 4.8f, 6.2f, 7.3f, 1),
	S("bello", 7.8f, 5.2f, 6.2f, 7.7f, 1), S("bella", 7.8f, 5.2f, 6.2f, 7.7f, 1),
	S("buono", 7.4f, 4.5f, 6.4f, 7.2f, 1), S("buona", 7.4f, 4.5f, 6.4f, 7.2f, 1),
	S("grande", 7.0f, 5.5f, 6.8f, 6.8f, 1), S("amore", 8.5f, 6.5f, 6.0f, 8.4f, 1),
	S("felice", 8.3f, 6.2f, 6.5f, 8.3f, 1), S("grazie", 7.8f, 4.2f, 6.0f, 7.6f, 1),
	S("bravo", 7.8f, 6.0f, 6.5f, 7.6f, 1), S("brava", 7.8f, 6.0f, 6.5f, 7.6f, 1),
	S("ottimo", 7.9f, 5.5f, 6.8f, 7.7f, 1), S("viva", 7.6f, 6.8f, 6.5f, 7.4f, 1),
	S("hate", 2.0f, 7.0f, 5.5f, 2.2f, -1), S("hated", 2.2f, 6.8f, 5.5f, 2.4f, -1),
	S("bad", 2.8f, 5.2f, 4.2f, 2.9f, -1), S("worse", 2.6f, 5.5f, 4.0f, 2.8f, -1),
	S("worst", 2.0f, 6.0f, 3.8f, 2.2f, -1), S("sad", 2.2f, 4.0f, 3.5f, 2.3f, -1),
	S("angry", 2.5f, 7.5f, 5.0f, 2.6f, -1), S("awful", 2.2f, 6.0f, 4.0f, 2.4f, -1),
	S("terrible", 2.0f, 6.5f, 3.8f, 2.2f, -1), S("horrible", 2.0f, 6.5f, 3.8f, 2.2f, -1),
	S("stupid", 2.6f, 5.8f, 4.5f, 2.8f, -1), S("fail", 2.4f, 6.0f, 3.5f, 2.5f, -1),
	S("failed", 2.4f, 6.0f, 3.5f, 2.5f, -1), S("lose", 2.6f, 6.0f, 3.5f, 2.7f, -1),
	S("lost", 2.8f, 5.5f, 3.5f, 2.9f, -1), S("loss", 2.4f, 5.5f, 3.5f, 2.5f, -1),
	S("cry", 2.6f, 5.8f, 3.5f, 2.6f, -1), S("crying", 2.4f, 6.0f, 3.4f, 2.5f, -1),
	S("pain", 2.0f, 6.5f, 3.5f, 2.0f, -1), S("hurt", 2.2f, 6.2f, 3.5f, 2.3f, -1),
	S("sick", 2.4f, 5.0f, 3.2f, 2.4f, -1), S("tired", 3.2f, 2.8f, 3.8f, 3.3f, -1),
	S("bored", 3.0f, 2.5f, 4.0f, 3.2f, -1), S("boring", 3.0f, 2.5f, 4.0f, 3.1f, -1),
	S("fear", 2.4f, 7.2f, 3.2f, 2.5f, -1), S("scared", 2.6f, 7.0f, 3.0f, 2.7f, -1),
	S("afraid", 2.6f, 6.8f, 3.0f, 2.7f, -1), S("kill", 1.6f, 7.8f, 5.5f, 1.7f, -1),
	S("killed", 1.6f, 7.5f, 4.5f, 1.7f, -1), S("death", 1.6f, 6.5f, 3.5f, 1.6f, -1),
	S("dead", 1.8f, 5.8f, 3.5f, 1.9f, -1), S("war", 1.8f, 7.5f, 4.5f, 1.8f, -1),
	S("crisis", 2.4f, 7.0f, 3.8f, 2.5f, -1), S("problem", 3.0f, 5.5f, 4.2f, 3.0f, -1),
	S("wrong", 2.8f, 5.5f, 4.2f, 2.9f, -1), S("sorry", 3.5f, 4.5f, 4.0f, 3.6f, -1),
	S("shame", 2.4f, 5.5f, 3.5f, 2.5f, -1), S("ugly", 2.6f, 5.0f, 4.2f, 2.8f, -1),
	S("alone", 2.8f, 4.0f, 3.8f, 3.0f, -1), S("lonely", 2.4f, 4.2f, 3.2f, 2.5f, -1),
	S("annoying", 2.8f, 6.0f, 4.5f, 2.9f, -1), S("damn", 3.0f, 6.0f, 5.0f, 3.2f, -1),
	S("spam", 2.8f, 4.5f, 4.5f, 3.0f, -1), S("scam", 2.0f, 6.0f, 4.0f, 2.1f, -1),
	S("liar", 2.2f, 6.2f, 4.5f, 2.3f, -1), S("corrupt", 2.0f, 6.0f, 4.5f, 2.1f, -1),
	S("brutto", 2.6f, 5.0f, 4.2f, 2.8f, -1), S("brutta", 2.6f, 5.0f, 4.2f, 2.8f, -1),
	S("triste", 2.2f, 4.0f, 3.5f, 2.3f, -1), S("male", 2.8f, 5.2f, 4.2f, 2.9f, -1),
	S("odio", 2.0f, 7.0f, 5.5f, 2.2f, -1), S("paura", 2.4f, 7.2f, 3.2f, 2.5f, -1),
	S("morte", 1.6f, 6.5f, 3.5f, 1.6f, -1), S("guerra", 1.8f, 7.5f, 4.5f, 1.8f, -1),
	S("schifo", 2.0f, 6.0f, 4.5f, 2.1f, -1), S("crisi", 2.4f, 7.0f, 3.8f, 2.5f, -1),
	S("news", 5.6f, 5.5f, 5.5f, 5.6f, 0), S("time", 5.4f, 4.2f, 5.5f, 5.4f, 0),
	S("day", 6.0f, 4.5f, 5.5f, 6.0f, 0), S("night", 5.6f, 4.8f, 5.2f, 5.6f, 0),
	S("work", 5.0f, 5.5f, 5.5f, 5.0f, 0), S("money", 6.5f, 6.0f, 6.2f, 6.4f, 0),
	S("home", 7.2f, 4.2f, 6.2f, 7.1f, 0), S("family", 7.6f, 4.8f, 6.2f, 7.6f, 0),
	S("game", 6.8f, 6.2f, 6.0f, 6.8f, 0), S("politics", 4.2f, 5.8f, 5.0f, 4.3f, 0),
	S("vote", 5.8f, 5.5f, 6.5f, 5.8f, 0), S("people", 6.2f, 4.8f, 5.5f, 6.2f, 0),
	S("world", 6.5f, 5.2f, 5.5f, 6.4f, 0), S("life", 7.2f, 5.5f, 6.0f, 7.2f, 0),
	S("tonight", 6.2f, 5.5f, 5.5f, 6.2f, 0), S("weekend", 7.5f, 5.5f, 6.2f, 7.5f, 0),
};
#undef S

static pthread_once_t sort_once = PTHREAD_ONCE_INIT;

static int cmp_closed(const void *a, const void *b)
{
	return strcmp(((const struct closed_word *)a)->w, ((const struct closed_word *)b)->w);
}

static int cmp_senti(const void *a, const void *b)
{
	return strcmp(((const struct senti_word *)a)->w, ((const struct senti_word *)b)->w);
}

/* Per list, the range [first[b], first[b + 1]) of its words beginning with
 * byte b once sorted: a lookup searches only its word's range. */
static uint16_t closed_first[257], senti_first[257];

static void index_first(const void *base, size_t n, size_t size, uint16_t *first)
{
	size_t k = 0;
	for (int b = 0; b < 256; b++) {
		first[b] = (uint16_t)k;
		while (k < n && (unsigned char)**(const char *const *)((const char *)base + k * size) == b)
			k++;
	}
	first[256] = (uint16_t)n;
}

static void sort_lists(void)
{
	qsort(closed, sizeof(closed) / sizeof(closed[0]), sizeof(closed[0]), cmp_closed);
	qsort(senti, sizeof(senti) / sizeof(senti[0]), sizeof(senti[0]), cmp_senti);
	index_first(closed, sizeof(closed) / sizeof(closed[0]), sizeof(closed[0]), closed_first);
	index_first(senti, sizeof(senti) / sizeof(senti[0]), sizeof(senti[0]), senti_first);
}

/* strcmp(k, w[0..len) as a string) for the short words of the lists: an
 * inline loop instead of a library call per probe (the hot path of text
 * analysis). Bytes compare as unsigned char, as strcmp's order does. */
static int word_cmp(const char *k, const char *w, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char a = (unsigned char)k[i], b = (unsigned char)w[i];
		if (a != b)
			return a < b ? -1 : 1; /* k ending first: a = 0 < b */
	}
	return k[len] != '\0';
}

/* Binary search of w[0..len) in a list sorted by its leading `const char *`,
 * within the range of words that begin with w's first byte. */
static const void *find(const void *base, const uint16_t *first, size_t size, const char *w,
			size_t len)
{
	if (!len)
		return NULL; /* no word is empty */
	size_t lo = first[(unsigned char)w[0]], hi = first[(unsigned char)w[0] + 1];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = *(const char *const *)((const char *)base + mid * size);
		int c = word_cmp(k, w, len);
		if (c == 0)
			return (const char *)base + mid * size;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

enum feat_pos feat_lex_closed(const char *w, size_t len)
{
	const struct closed_word *c;

	pthread_once(&sort_once, sort_lists);
	c = find(closed, closed_first, sizeof(closed[0]), w, len);
	return c ? c->pos : POS_NONE;
}

const struct feat_vad *feat_lex_sentiment(const char *w, size_t len)
{
	const struct senti_word *s;

	pthread_once(&sort_once, sort_lists);
	s = find(senti, senti_first, sizeof(senti[0]), w, len);
	return s ? &s->vad : NULL;
}

size_t feat_lex_sentiment_size(void)
{
	return sizeof(senti) / sizeof(senti[0]);
}
