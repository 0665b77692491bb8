import { describe, expect, it } from "vitest";
import { eaxDecrypt, eaxEncrypt } from "../../../functions/core/dify/eax";

// Bellare, Rogaway, Wagner, "The EAX Mode of Operation", appendix: AES-128, CIPHER = ciphertext || tag.
const vectors = [
  {
    msg: "",
    key: "233952DEE4D5ED5F9B9C6D6FF80FF478",
    nonce: "62EC67F9C3A4A407FCB2A8C49031A8B3",
    header: "6BFB914FD07EAE6B",
    cipher: "E037830E8389F27B025A2D6527E79D01",
  },
  {
    msg: "F7FB",
    key: "91945D3F4DCBEE0BF45EF52255F095A4",
    nonce: "BECAF043B0A23D843194BA972C66DEBD",
    header: "FA3BFD4806EB53FA",
    cipher: "19DD5C4C9331049D0BDAB0277408F67967E5",
  },
  {
    msg: "1A47CB4933",
    key: "01F74AD64077F2E704C0F60ADA3DD523",
    nonce: "70C3DB4F0D26368400A10ED05D2BFF5E",
    header: "234A3463C1264AC6",
    cipher: "D851D5BAE03A59F238A23E39199DC9266626C40F80",
  },
  {
    msg: "481C9E39B1",
    key: "D07CF6CBB7F313BDDE66B727AFD3C5E8",
    nonce: "8408DFFF3C1A2B1292DC199E46B7D617",
    header: "33CCE2EABFF5A79D",
    cipher: "632A9D131AD4C168A4225D8E1FF755939974A7BEDE",
  },
  {
    msg: "40D0C07DA5E4",
    key: "35B6D0580005BBC12B0587124557D2C2",
    nonce: "FDB6B06676EEDC5C61D74276E1F8E816",
    header: "AEB96EAEBE2970E9",
    cipher: "071DFE16C675CB0677E536F73AFE6A14B74EE49844DD",
  },
  {
    msg: "4DE3B35C3FC039245BD1FB7D",
    key: "BD8E6E11475E60B268784C38C62FEB22",
    nonce: "6EAC5C93072D8E8513F750935E46DA1B",
    header: "D4482D1CA78DCE0F",
    cipher: "835BB4F15D743E350E728414ABB8644FD6CCB86947C5E10590210A4F",
  },
  {
    msg: "8B0A79306C9CE7ED99DAE4F87F8DD61636",
    key: "7C77D6E813BED5AC98BAA417477A2E7D",
    nonce: "1A8C98DCD73D38393B2BF1569DEEFC19",
    header: "65D2017990D62528",
    cipher: "02083E3979DA014812F59F11D52630DA30137327D10649B0AA6E1C181DB617D7F2",
  },
  {
    msg: "1BDA122BCE8A8DBAF1877D962B8592DD2D56",
    key: "5FFF20CAFAB119CA2FC73549E20F5B0D",
    nonce: "DDE59B97D722156D4D9AFF2BC7559826",
    header: "54B9F04E6A09189A",
    cipher: "2EC47B2C4954A489AFC7BA4897EDCDAE8CC33B60450599BD02C96382902AEF7F832A",
  },
  {
    msg: "6CF36720872B8513F6EAB1A8A44438D5EF11",
    key: "A4A4782BCFFD3EC5E7EF6D8C34A56123",
    nonce: "B781FCF2F75FA5A8DE97A9CA48E522EC",
    header: "899A175897561D7E",
    cipher: "0DE18FD0FDD91E7AF19F1D8EE8733938B1E8E7F6D2231618102FDB7FE55FF1991700",
  },
  {
    msg: "CA40D7446E545FFAED3BD12A740A659FFBBB3CEAB7",
    key: "8395FCF1E95BEBD697BD010BC766AAC3",
    nonce: "22E7ADD93CFC6393C57EC0B3C17D6B44",
    header: "126735FCC320D25A",
    cipher: "CB8920F87A6C75CFF39627B56E3ED197C552D295A7CFC46AFC253B4652B1AF3795B124AB6E",
  },
];

const hex = (value: string) => Buffer.from(value, "hex");

describe("EAX", () => {
  it.each(vectors.map((vector, index) => ({ ...vector, number: index + 1 })))(
    "encrypts published test vector $number to its ciphertext and tag",
    ({ msg, key, nonce, header, cipher }) => {
      const { ciphertext, tag } = eaxEncrypt(hex(key), hex(nonce), hex(msg), hex(header));

      expect(Buffer.concat([ciphertext, tag]).toString("hex").toUpperCase()).toBe(cipher);
    },
  );

  it.each(vectors.map((vector, index) => ({ ...vector, number: index + 1 })))(
    "decrypts published test vector $number back to its message",
    ({ msg, key, nonce, header, cipher }) => {
      const sealed = hex(cipher);

      const plaintext = eaxDecrypt(
        hex(key),
        hex(nonce),
        sealed.subarray(0, -16),
        sealed.subarray(-16),
        hex(header),
      );

      expect(plaintext.toString("hex").toUpperCase()).toBe(msg);
    },
  );

  it("round-trips without a header, across block boundaries and a counter carry", () => {
    const key = hex("000102030405060708090a0b0c0d0e0f");
    const nonce = hex("ffffffffffffffffffffffffffffffff");
    for (const length of [0, 1, 15, 16, 17, 32, 33, 1000]) {
      const plaintext = Buffer.alloc(length, 0xa5);

      const { ciphertext, tag } = eaxEncrypt(key, nonce, plaintext);

      expect(ciphertext.length).toBe(length);
      expect(eaxDecrypt(key, nonce, ciphertext, tag)).toEqual(plaintext);
    }
  });

  it("rejects a ciphertext with a flipped bit", () => {
    const vector = vectors[9]!;
    const sealed = hex(vector.cipher);
    const ciphertext = Buffer.from(sealed.subarray(0, -16));
    ciphertext[0]! ^= 0x01;

    expect(() =>
      eaxDecrypt(hex(vector.key), hex(vector.nonce), ciphertext, sealed.subarray(-16), hex(vector.header)),
    ).toThrow(/tag does not match/);
  });

  it("rejects a tag with a flipped bit", () => {
    const vector = vectors[9]!;
    const sealed = hex(vector.cipher);
    const tag = Buffer.from(sealed.subarray(-16));
    tag[15]! ^= 0x80;

    expect(() =>
      eaxDecrypt(hex(vector.key), hex(vector.nonce), sealed.subarray(0, -16), tag, hex(vector.header)),
    ).toThrow(/tag does not match/);
  });

  it("rejects a different header or a truncated tag", () => {
    const vector = vectors[9]!;
    const sealed = hex(vector.cipher);
    const ciphertext = sealed.subarray(0, -16);
    const tag = sealed.subarray(-16);

    expect(() => eaxDecrypt(hex(vector.key), hex(vector.nonce), ciphertext, tag)).toThrow(
      /tag does not match/,
    );
    expect(() =>
      eaxDecrypt(hex(vector.key), hex(vector.nonce), ciphertext, tag.subarray(0, 8), hex(vector.header)),
    ).toThrow(/tag does not match/);
  });
});
